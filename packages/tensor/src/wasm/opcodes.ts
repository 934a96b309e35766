// WebAssembly opcodes this repo emits (core MVP + SIMD128). Numbers from the WebAssembly
// core spec, binary format, §5.4 (instructions); SIMD opcodes follow the 0xFD prefix as a u32 LEB128.

export const ValType = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Single-byte core opcodes. */
export const Op = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22, global_get: 0x23,
  i32_load: 0x28, f32_load: 0x2a, i32_load8_s: 0x2c, i32_load8_u: 0x2d, i32_load16_s: 0x2e, i32_load16_u: 0x2f, i32_store: 0x36, f32_store: 0x38,
  i32_const: 0x41, f32_const: 0x43,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a, i32_gt_u: 0x4b,
  i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  f32_eq: 0x5b, f32_lt: 0x5d, f32_gt: 0x5e,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_u: 0x6e, i32_and: 0x71, i32_or: 0x72,
  i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76,
  f32_abs: 0x8b, f32_neg: 0x8c, f32_sqrt: 0x91, f32_add: 0x92, f32_sub: 0x93, f32_mul: 0x94, f32_div: 0x95,
  f32_min: 0x96, f32_max: 0x97,
  i32_trunc_f32_s: 0xa8, f32_convert_i32_s: 0xb2, i32_reinterpret_f32: 0xbc, f32_reinterpret_i32: 0xbe,
} as const;

/** SIMD128 opcodes (after the 0xFD prefix). */
export const Simd = {
  v128_load: 0x00, v128_load8x8_s: 0x01, v128_load8x8_u: 0x02, v128_load16x4_s: 0x03, v128_load16x4_u: 0x04, v128_load16_splat: 0x08, v128_load32_splat: 0x09, v128_store: 0x0b,
  v128_const: 0x0c, i8x16_shuffle: 0x0d, i8x16_swizzle: 0x0e, i8x16_splat: 0x0f,
  i32x4_splat: 0x11, f32x4_splat: 0x13,
  i32x4_replace_lane: 0x1c, f32x4_extract_lane: 0x1f,
  i8x16_eq: 0x23, i16x8_eq: 0x2d, i32x4_eq: 0x37,
  v128_and: 0x4e, v128_andnot: 0x4f, v128_or: 0x50, v128_any_true: 0x53, v128_load8_lane: 0x54, v128_load16_lane: 0x55, v128_store32_lane: 0x5a, v128_store64_lane: 0x5b, v128_load32_zero: 0x5c, v128_load64_zero: 0x5d,
  i8x16_shr_u: 0x6d, i8x16_sub: 0x71, i8x16_max_u: 0x79, i16x8_max_u: 0x99, i32x4_max_u: 0xb9,
  i16x8_extend_low_i8x16_s: 0x87, i16x8_extend_high_i8x16_s: 0x88, i16x8_extend_low_i8x16_u: 0x89, i16x8_extend_high_i8x16_u: 0x8a,
  i16x8_shl: 0x8b, i16x8_shr_s: 0x8c, i16x8_shr_u: 0x8d, i16x8_add: 0x8e, i16x8_sub: 0x91,
  i32x4_extend_low_i16x8_s: 0xa7, i32x4_extend_high_i16x8_s: 0xa8, i32x4_extend_low_i16x8_u: 0xa9, i32x4_extend_high_i16x8_u: 0xaa,
  i32x4_shl: 0xab, i32x4_add: 0xae, i32x4_dot_i16x8_s: 0xba,
  f32x4_nearest: 0x6a, i8x16_narrow_i16x8_s: 0x65, i16x8_narrow_i32x4_s: 0x85, f32x4_abs: 0xe0,
  f32x4_add: 0xe4, f32x4_sub: 0xe5, f32x4_mul: 0xe6, f32x4_div: 0xe7, f32x4_min: 0xe8, f32x4_max: 0xe9,
  f32x4_pmin: 0xea, f32x4_pmax: 0xeb,
  i32x4_trunc_sat_f32x4_s: 0xf8, f32x4_convert_i32x4_s: 0xfa,
  // Relaxed SIMD (Node 20 only behind --experimental-wasm-relaxed-simd): emitted by bench/prompt-tiles.bench.ts only.
  f32x4_relaxed_madd: 0x105,
} as const;
export type SimdOp = (typeof Simd)[keyof typeof Simd];
