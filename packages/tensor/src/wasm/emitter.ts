// A small typed WebAssembly binary emitter: enough to build kernel modules at run time
// (one imported memory, functions, exports). No toolchain and no checked-in binaries:
// the kernels in ./kernels.ts are written against this API and encoded here.
import { Op, Simd, ValType, type SimdOp } from './opcodes.js';

/** Unsigned LEB128. */
export function uleb(value: number, out: number[] = []): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`uleb: ${value} is not a u32`);
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (i32 range). */
export function sleb(value: number, out: number[] = []): number[] {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new RangeError(`sleb: ${value} is not an i32`);
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8Name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  for (const b of bytes) out.push(b);
}

/** A local (or parameter) index, typed so f32 and v128 locals are not mixed up by accident. */
export type Local<T extends ValType = ValType> = { readonly index: number; readonly type: T };

/** Builds one function body. Methods append instructions and return `this` for chaining. */
export class FunctionBuilder {
  readonly params: Local[];
  private readonly locals: ValType[] = [];
  private readonly code: number[] = [];
  private depth = 0;

  constructor(readonly name: string, paramTypes: readonly ValType[], readonly results: readonly ValType[] = []) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
  }

  get paramTypes(): ValType[] { return this.params.map((p) => p.type); }

  local<T extends ValType>(type: T): Local<T> {
    this.locals.push(type);
    return { index: this.params.length + this.locals.length - 1, type };
  }


  get(l: Local): this { this.code.push(Op.local_get); uleb(l.index, this.code); return this; }
  set(l: Local): this { this.code.push(Op.local_set); uleb(l.index, this.code); return this; }
  tee(l: Local): this { this.code.push(Op.local_tee); uleb(l.index, this.code); return this; }
  globalGet(index: number): this { this.code.push(Op.global_get); uleb(index, this.code); return this; }
  i32(value: number): this { this.code.push(Op.i32_const); sleb(value | 0, this.code); return this; }
  f32(value: number): this {
    this.code.push(Op.f32_const);
    const b = new Uint8Array(new Float32Array([value]).buffer);
    for (const x of b) this.code.push(x);
    return this;
  }
  op(opcode: number): this { this.code.push(opcode); return this; }

  /** A memory instruction: opcode, then memarg (log2 alignment, byte offset). */
  mem(opcode: number, offset = 0, alignLog2 = 2): this {
    this.code.push(opcode);
    uleb(alignLog2, this.code);
    uleb(offset, this.code);
    return this;
  }

  /** A SIMD instruction with no immediate. */
  simd(opcode: SimdOp): this { this.code.push(0xfd); uleb(opcode, this.code); return this; }
  /** A SIMD memory instruction (v128.load/store and the extending/splatting loads). Alignment hint defaults to none. */
  simdMem(opcode: SimdOp, offset = 0, alignLog2 = 0): this {
    this.code.push(0xfd); uleb(opcode, this.code); uleb(alignLog2, this.code); uleb(offset, this.code);
    return this;
  }
  /** A SIMD load into one lane (v128.loadN_lane): memarg, then the lane. */
  simdMemLane(opcode: SimdOp, offset: number, alignLog2: number, lane: number): this {
    this.code.push(0xfd); uleb(opcode, this.code); uleb(alignLog2, this.code); uleb(offset, this.code); this.code.push(lane);
    return this;
  }
  simdLane(opcode: SimdOp, lane: number): this { this.code.push(0xfd); uleb(opcode, this.code); this.code.push(lane); return this; }
  /** v128.const with four i32 lanes. */
  v128i32(a: number, b: number, c: number, d: number): this {
    this.code.push(0xfd); uleb(Simd.v128_const, this.code);
    const bytes = new Uint8Array(new Int32Array([a, b, c, d]).buffer);
    for (const x of bytes) this.code.push(x);
    return this;
  }

  /** i8x16.shuffle of the two vectors on the stack: lane i of the result is byte lanes[i] of a‖b. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) throw new RangeError('i8x16.shuffle needs 16 lane indices in 0..31');
    this.code.push(0xfd); uleb(Simd.i8x16_shuffle, this.code); this.code.push(...lanes);
    return this;
  }
  /** v128.const with sixteen byte lanes. */
  v128bytes(bytes: readonly number[]): this {
    if (bytes.length !== 16) throw new RangeError('v128.const needs 16 bytes');
    this.code.push(0xfd); uleb(Simd.v128_const, this.code);
    for (const b of bytes) this.code.push(b & 255);
    return this;
  }

  // Structured control flow. Block types are always empty (0x40): values travel through locals.
  block(body: () => void): this { return this.structured(Op.block, body); }
  loop(body: () => void): this { return this.structured(Op.loop, body); }
  if(then: () => void, otherwise?: () => void): this {
    this.code.push(Op.if, 0x40);
    this.depth++;
    then();
    if (otherwise) { this.code.push(Op.else); otherwise(); }
    this.depth--;
    this.code.push(Op.end);
    return this;
  }
  br(depth: number): this { this.code.push(Op.br); uleb(depth, this.code); return this; }
  brIf(depth: number): this { this.code.push(Op.br_if); uleb(depth, this.code); return this; }

  /**
   * for (counter = start; counter + step <= limit; counter += step) body — i.e. only whole steps run;
   * `limit` is read each iteration. `start` is emitted by the caller-supplied function.
   */
  forSteps(counter: Local<typeof ValType.i32>, start: () => void, limit: Local<typeof ValType.i32>, step: number, body: () => void): this {
    start(); this.set(counter);
    return this.block(() => this.loop(() => {
      this.get(counter).i32(step).op(Op.i32_add).get(limit).op(Op.i32_gt_s).brIf(1);
      body();
      this.get(counter).i32(step).op(Op.i32_add).set(counter).br(0);
    }));
  }

  /** Appends `local += step` for an i32 local. */
  inc(l: Local<typeof ValType.i32>, step: number): this { return this.get(l).i32(step).op(Op.i32_add).set(l); }

  private structured(opcode: number, body: () => void): this {
    this.code.push(opcode, 0x40);
    this.depth++;
    body();
    this.depth--;
    this.code.push(Op.end);
    return this;
  }

  /** The encoded body (locals + code + end), as the code section stores it. */
  encode(): number[] {
    if (this.depth !== 0) throw new Error(`wasm function ${this.name}: unbalanced blocks`);
    const body: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, body);
    for (const [n, t] of groups) { uleb(n, body); body.push(t); }
    body.push(...this.code, Op.end);
    const out: number[] = [];
    uleb(body.length, out);
    for (const b of body) out.push(b);
    return out;
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  initialPages: number;
  maximumPages?: number;
  shared?: boolean;
}

/** Builds a module whose functions all use one imported linear memory. */
export class ModuleBuilder {
  private readonly functions: FunctionBuilder[] = [];
  /** v128 globals by their bytes: constants that kernels only read (mutable, so TurboFan cannot fold them back into constants). */
  private readonly vectorGlobals = new Map<string, number>();

  /** Active data segments: bytes the module writes into the memory at instantiation. */
  private readonly segments: { address: number; bytes: Uint8Array }[] = [];

  constructor(private readonly memory: MemoryImport) {
    if (memory.shared && memory.maximumPages === undefined) throw new Error('a shared wasm memory needs maximumPages');
  }

  function(name: string, params: readonly ValType[], results: readonly ValType[] = []): FunctionBuilder {
    const f = new FunctionBuilder(name, params, results);
    this.functions.push(f);
    return f;
  }

  /**
   * The index of a v128 global holding `bytes` (one per distinct value). TurboFan rematerializes a
   * v128.const (or a splat) at every use inside a loop, ~3 instructions each; a global is read by
   * a load, which stays where the function reads it, so a kernel that reads its constants into
   * locals before a loop keeps them in registers (or one spill slot) across it.
   */
  vectorGlobal(bytes: readonly number[]): number {
    if (bytes.length !== 16) throw new RangeError('a v128 global needs 16 bytes');
    const key = bytes.map((b) => b & 255).join(',');
    let index = this.vectorGlobals.get(key);
    if (index === undefined) { index = this.vectorGlobals.size; this.vectorGlobals.set(key, index); }
    return index;
  }

  /** Writes `bytes` at `address` of the memory whenever the module is instantiated. */
  data(address: number, bytes: Uint8Array): void { this.segments.push({ address, bytes }); }

  encode(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]) => { out.push(id); uleb(content.length, out); for (const b of content) out.push(b); };

    // Type section: one signature per function (duplicates are harmless and keep indices simple).
    const types: number[] = [];
    uleb(this.functions.length, types);
    for (const f of this.functions) {
      types.push(0x60);
      uleb(f.paramTypes.length, types); types.push(...f.paramTypes);
      uleb(f.results.length, types); types.push(...f.results);
    }
    section(1, types);

    const imports: number[] = [];
    uleb(1, imports);
    utf8Name(this.memory.module, imports);
    utf8Name(this.memory.name, imports);
    imports.push(0x02); // memory
    const m = this.memory;
    const flags = (m.maximumPages !== undefined ? 1 : 0) | (m.shared ? 2 : 0);
    imports.push(flags);
    uleb(m.initialPages, imports);
    if (m.maximumPages !== undefined) uleb(m.maximumPages, imports);
    section(2, imports);

    const funcs: number[] = [];
    uleb(this.functions.length, funcs);
    this.functions.forEach((_, i) => uleb(i, funcs));
    section(3, funcs);

    if (this.vectorGlobals.size > 0) {
      const globals: number[] = [];
      uleb(this.vectorGlobals.size, globals);
      for (const key of this.vectorGlobals.keys()) {
        globals.push(ValType.v128, 1, 0xfd); uleb(Simd.v128_const, globals);
        globals.push(...key.split(',').map(Number), Op.end);
      }
      section(6, globals);
    }

    const exports: number[] = [];
    uleb(this.functions.length, exports);
    this.functions.forEach((f, i) => { utf8Name(f.name, exports); exports.push(0x00); uleb(i, exports); });
    section(7, exports);

    const code: number[] = [];
    uleb(this.functions.length, code);
    for (const f of this.functions) for (const b of f.encode()) code.push(b);
    section(10, code);

    if (this.segments.length > 0) {
      const data: number[] = [];
      uleb(this.segments.length, data);
      for (const { address, bytes } of this.segments) {
        data.push(0x00, Op.i32_const); sleb(address, data); data.push(Op.end); // memory 0, offset expression
        uleb(bytes.length, data); for (const b of bytes) data.push(b);
      }
      section(11, data);
    }

    // The standard "name" custom section, function names only (subsection 1): CPU profiles and
    // stack traces then show `matvecQ5_0Rows4` instead of `wasm-function[26]`.
    const names: number[] = [];
    utf8Name('name', names);
    const functionNames: number[] = [];
    uleb(this.functions.length, functionNames);
    this.functions.forEach((f, i) => { uleb(i, functionNames); utf8Name(f.name, functionNames); });
    names.push(1); uleb(functionNames.length, names); names.push(...functionNames);
    section(0, names);
    return new Uint8Array(out);
  }
}

export { Op, Simd, ValType };
