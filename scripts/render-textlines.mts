/**
 * Renders synthetic text lines (320×48 RGBA, Chromium canvas, Latin text of the PP-OCR dictionary) to
 * /tmp/textlines.json for scripts/ppocr-snr.ts. Run: npx tsx scripts/render-textlines.mts [count]
 */
import { chromium } from 'playwright';
import { writeFileSync } from 'node:fs';

const base = ['Shrinkray 2026', 'Hello World', 'invoice no. 48213', 'The quick brown fox', 'TOTAL: $123.45', 'onnxruntime node', 'PaddleOCR v4 rec', 'Model size 10.8 MB',
  'jumps over the lazy dog', 'Order #99812-B', 'Date: 2024-03-17', 'Tel +44 20 7946 0958', 'Subtotal 87.20 EUR', 'Main Street 221b', 'Quantity x3', 'Thank you!'];
const count = Number(process.argv[2] ?? 8);
const lines = Array.from({ length: count }, (_, i) => base[i % base.length] + (i >= base.length ? ` ${i}` : ''));
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const p = await b.newPage();
const data = await p.evaluate((lines) => lines.map((t, i) => {
  const c = document.createElement('canvas');
  c.width = 320;
  c.height = 48;
  const g = c.getContext('2d')!;
  g.fillStyle = i % 3 === 2 ? '#e8e4d8' : '#ffffff';
  g.fillRect(0, 0, 320, 48);
  g.fillStyle = i % 2 ? '#202020' : '#000000';
  g.font = `${24 + (i % 3) * 3}px ${i % 2 ? 'serif' : 'sans-serif'}`;
  g.textBaseline = 'middle';
  g.fillText(t, 6, 25, 308);
  return Array.from(g.getImageData(0, 0, 320, 48).data);
}), lines);
writeFileSync('/tmp/textlines.json', JSON.stringify({ lines, data }));
await b.close();
