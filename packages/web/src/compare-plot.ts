// The comparison: per-token log-probabilities of the reference text under two policies, as two
// lines, and their mean negative log-likelihood / perplexity as a sentence.
import type { FromWorker } from './protocol.js';

type Compare = Extract<FromWorker, { type: 'compare' }>;

export function drawCompare(canvas: HTMLCanvasElement, m: Compare): string {
  const ctx = canvas.getContext('2d')!, W = canvas.width, H = canvas.height, pad = 30;
  ctx.clearRect(0, 0, W, H);
  const all = [...m.a.logprobs, ...m.b.logprobs];
  const lo = Math.min(...all, -1), n = m.a.logprobs.length;
  const x = (i: number) => pad + (i + 0.5) * ((W - pad - 8) / n), y = (v: number) => 8 + (v / lo) * (H - 24);
  ctx.strokeStyle = '#ddd'; ctx.beginPath(); ctx.moveTo(pad, y(0)); ctx.lineTo(W, y(0)); ctx.stroke();
  ctx.fillStyle = '#5a5a60'; ctx.font = '11px system-ui, sans-serif';
  ctx.fillText('0', 4, y(0) + 4); ctx.fillText(lo.toFixed(0), 4, y(lo));
  const line = (lp: number[], color: string) => {
    ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
    lp.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
  };
  line(m.a.logprobs, '#1f5fbf');
  line(m.b.logprobs, '#c62828');
  const nll = (lp: number[]) => -lp.reduce((s, v) => s + v, 0) / lp.length;
  const a = nll(m.a.logprobs), b = nll(m.b.logprobs);
  ctx.fillStyle = '#1f5fbf'; ctx.fillText(`${m.a.policy}`, W - 140, 14);
  ctx.fillStyle = '#c62828'; ctx.fillText(`${m.b.policy}`, W - 70, 14);
  return `${n} reference tokens: ${m.a.policy} (blue) mean NLL ${a.toFixed(3)} (perplexity ${Math.exp(a).toFixed(2)}), `
    + `${m.b.policy} (red) ${b.toFixed(3)} (perplexity ${Math.exp(b).toFixed(2)})`;
}
