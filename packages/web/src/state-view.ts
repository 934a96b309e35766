// The live multi-state on a canvas: one row per layer (per KV head when the policy is head-wise),
// each row the kept entries in position order, coloured by the newest query's attention; a thin
// timeline under each row places the kept positions (dark) and recent evictions (red, fading) in
// the whole text. Draws at most once per animation frame, only when something changed.
import type { Snapshot } from './protocol.js';

const LABEL_W = 64;
const EVICT_FADE_MS = 1200;

interface Cell { row: number; layer: number; head: number; position: number; att: number; x: number; y: number; w: number; h: number }

export class StateView {
  private snap: Snapshot | null = null;
  private evictions: { layer: number; position: number; at: number }[] = [];
  private cells: Cell[] = [];
  private dirty = false;
  private cursor = -1;
  /** Frames drawn and time spent drawing (the browser test reads these). */
  readonly stats = { frames: 0, drawMs: 0, maxDrawMs: 0 };

  constructor(private readonly canvas: HTMLCanvasElement,
    private readonly tokenAt: (position: number) => { token: string | undefined; id: number | undefined },
    private readonly onHover: (text: string) => void) {
    canvas.addEventListener('mousemove', (e) => this.hoverAt(e.offsetX, e.offsetY));
    window.addEventListener('resize', () => { this.dirty = true; });
    canvas.addEventListener('keydown', (e) => this.key(e));
    (window as unknown as { msrnnView: StateView }).msrnnView = this;
    const loop = () => { if (this.dirty || this.evictions.length) this.draw(); requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  }

  update(s: Snapshot): void {
    const now = performance.now();
    s.evicted.forEach((ps, layer) => { for (const position of ps) this.evictions.push({ layer, position, at: now }); });
    if (this.evictions.length > 4000) this.evictions.splice(0, this.evictions.length - 4000);
    this.snap = s;
    this.dirty = true;
  }

  /** Kept entries shown per row (what the browser test checks against the capacity). */
  keptPerRow(): number[] {
    return this.snap ? this.snap.layers.flatMap((heads) => (this.snap!.headWise ? heads : heads.slice(0, 1)).map((h) => h.kept.length)) : [];
  }

  private draw(): void {
    const t0 = performance.now();
    this.dirty = false;
    const s = this.snap;
    const c = this.canvas, ctx = c.getContext('2d')!;
    const rowsPerLayer = s ? (s.headWise ? s.layers[0]!.length : 1) : 1;
    const rows = s ? s.layers.length * rowsPerLayer : 0;
    const rowH = rows > 0 ? Math.max(14, Math.min(36, Math.floor(420 / rows))) : 20;
    // Sized in CSS pixels (times devicePixelRatio for sharpness), so text stays readable on a phone.
    const height = Math.max(60, rows * (rowH + 8) + 8), width = Math.max(200, c.clientWidth), dpr = window.devicePixelRatio || 1;
    if (c.height !== Math.round(height * dpr) || c.width !== Math.round(width * dpr)) {
      c.width = Math.round(width * dpr); c.height = Math.round(height * dpr); c.style.height = `${height}px`;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    this.cells = [];
    if (!s) return;
    const W = width - LABEL_W - 8, now = performance.now();
    this.evictions = this.evictions.filter((e) => now - e.at < EVICT_FADE_MS);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    let row = 0;
    s.layers.forEach((heads, layer) => {
      (s.headWise ? heads : heads.slice(0, 1)).forEach((h, head) => {
        const y = 4 + row * (rowH + 8);
        ctx.fillStyle = '#5a5a60';
        ctx.fillText(s.headWise ? `L${layer} h${head}` : `layer ${layer}`, 4, y + rowH / 2);
        const slots = Math.max(h.kept.length, s.capacity === Infinity ? h.kept.length : s.capacity);
        const w = W / Math.max(1, slots);
        let maxAtt = 0;
        for (const a of h.att) maxAtt = Math.max(maxAtt, a);
        h.kept.forEach((position, i) => {
          const x = LABEL_W + i * w, a = maxAtt > 0 ? Math.sqrt(h.att[i]! / maxAtt) : 0;
          ctx.fillStyle = `rgb(${Math.round(232 - 201 * a)}, ${Math.round(238 - 143 * a)}, ${Math.round(247 - 56 * a)})`;
          ctx.fillRect(x, y, Math.max(1, w - (w > 4 ? 1 : 0)), rowH);
          if (position === s.seen - 1) { ctx.strokeStyle = '#1d1d1f'; ctx.lineWidth = 1.5; ctx.strokeRect(x + 0.75, y + 0.75, Math.max(1, w - 2), rowH - 1.5); }
          if (position < 4) { // the first tokens: where attention sinks form
            ctx.fillStyle = '#e0a800';
            ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + Math.max(4, Math.min(8, w)), y); ctx.lineTo(x, y + Math.min(8, rowH / 2)); ctx.fill();
          }
          this.cells.push({ row, layer, head, position, att: h.att[i]!, x, y, w, h: rowH });
        });
        // Timeline: where the kept entries sit in the whole text, and what was just evicted.
        const ty = y + rowH + 2, scale = W / Math.max(1, s.seen);
        ctx.fillStyle = '#eee'; ctx.fillRect(LABEL_W, ty, W, 4);
        ctx.fillStyle = '#333';
        for (const p of h.kept) ctx.fillRect(LABEL_W + p * scale, ty, Math.max(1, scale), 4);
        for (const e of this.evictions) {
          if (e.layer !== layer) continue;
          ctx.fillStyle = `rgba(198, 40, 40, ${1 - (now - e.at) / EVICT_FADE_MS})`;
          ctx.fillRect(LABEL_W + e.position * scale - 1, ty - 2, Math.max(2, scale), 8);
        }
        row++;
      });
    });
    if (this.cursor >= 0 && this.cells[this.cursor]) {
      const cell = this.cells[this.cursor]!;
      ctx.strokeStyle = '#ffb000'; ctx.lineWidth = 2; ctx.strokeRect(cell.x, cell.y, cell.w, cell.h);
    }
    const ms = performance.now() - t0;
    this.stats.frames++; this.stats.drawMs += ms; this.stats.maxDrawMs = Math.max(this.stats.maxDrawMs, ms);
  }

  private describe(cell: Cell): string {
    const { token, id } = this.tokenAt(cell.position);
    const age = (this.snap?.seen ?? 0) - 1 - cell.position;
    return `layer ${cell.layer}${this.snap?.headWise ? ` KV head ${cell.head}` : ''} · position ${cell.position} · token ${JSON.stringify(token ?? '?')}${id !== undefined ? ` (id ${id})` : ''}`
      + ` · age ${age} · attention ${cell.att.toFixed(3)}`;
  }

  /** Whether the newest snapshot is drawn (the cells under the pointer are the ones shown). */
  get drawn(): boolean {
    return !this.dirty && this.cells.length > 0;
  }

  private hoverAt(x: number, y: number): void {
    // A snapshot may have arrived since the last frame: hit-test what it shows, not the old cells.
    if (this.dirty) this.draw();
    const i = this.cells.findIndex((c) => x >= c.x && x < c.x + Math.max(c.w, 1) && y >= c.y && y < c.y + c.h);
    if (i >= 0) { this.cursor = i; this.dirty = true; this.onHover(this.describe(this.cells[i]!)); }
  }

  /** Arrow keys move a cursor over the entries (left/right within a row, up/down between rows). */
  private key(e: KeyboardEvent): void {
    if (this.cells.length === 0) return;
    const cur = this.cells[this.cursor] ?? this.cells[0]!;
    let next = this.cursor < 0 ? 0 : this.cursor;
    if (e.key === 'ArrowRight') next = Math.min(this.cells.length - 1, next + 1);
    else if (e.key === 'ArrowLeft') next = Math.max(0, next - 1);
    else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const row = cur.row + (e.key === 'ArrowDown' ? 1 : -1);
      const inRow = this.cells.map((c, i) => [c, i] as const).filter(([c]) => c.row === row);
      if (inRow.length) next = inRow.reduce((best, [c, i]) => (Math.abs(c.x - cur.x) < Math.abs(this.cells[best]!.x - cur.x) ? i : best), inRow[0]![1]);
    } else return;
    e.preventDefault();
    this.cursor = next;
    this.dirty = true;
    this.onHover(this.describe(this.cells[next]!));
  }
}
