import { deflateSync } from "node:zlib";

/**
 * The sandbox's favicon, drawn here rather than kept as a binary: a 32×32 PNG (a white coin on a rounded square of
 * `rgb`) inside an ICO container, so browsers asking for /favicon.ico get an icon instead of a 404.
 */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A size×size RGBA PNG: a rounded square of `rgb` with a white ring (a coin) in the middle. */
export function iconPng(rgb: [number, number, number], size = 32): Buffer {
  const rows: Buffer[] = [];
  const c = (size - 1) / 2;
  const radius = size * 0.22;
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0: none
    for (let x = 0; x < size; x++) {
      // Inside the rounded square: distance from the inner rectangle's nearest point.
      const dx = Math.max(0, Math.abs(x - c) - (c - radius));
      const dy = Math.max(0, Math.abs(y - c) - (c - radius));
      const inSquare = Math.hypot(dx, dy) <= radius;
      const d = Math.hypot(x - c, y - c);
      const ring = d >= size * 0.2 && d <= size * 0.32;
      const [r, g, b] = ring ? [255, 255, 255] : rgb;
      row.set([r, g, b, inSquare ? 255 : 0], 1 + x * 4);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** An ICO file holding one PNG image (what browsers read at /favicon.ico). */
export function iconIco(png: Buffer, size = 32): Buffer {
  const header = Buffer.alloc(22);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // an icon
  header.writeUInt16LE(1, 4); // one image
  header.writeUInt8(size % 256, 6);
  header.writeUInt8(size % 256, 7);
  header.writeUInt16LE(1, 10); // colour planes
  header.writeUInt16LE(32, 12); // bits per pixel
  header.writeUInt32LE(png.length, 14);
  header.writeUInt32LE(22, 18); // the image follows the header
  return Buffer.concat([header, png]);
}

/** The sandbox's own icon: slate, so its tabs are told apart from a shop's. */
export const SANDBOX_FAVICON = iconIco(iconPng([51, 65, 85]));
