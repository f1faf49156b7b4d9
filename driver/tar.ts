/** One regular file of a tar archive, by its path inside the archive. */
export interface TarEntry {
  path: string;
  content: string | Buffer;
  mode: number;
  /** Owner (default 0, root): Docker extracts an uploaded archive with the ids it carries. */
  uid?: number;
  gid?: number;
}

/**
 * A ustar archive of regular files, what Docker's "copy into container" API takes, built the way
 * the docker provider builds its uploads (driver/volumes.ts): one header per file, its path as
 * given, its mode and owner.
 */
export function tarArchive(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.isBuffer(entry.content) ? entry.content : Buffer.from(entry.content, "utf8");
    blocks.push(header(entry, content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function header(entry: TarEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  const [prefix, name] = splitName(entry.path);
  block.write(name, 0, 100, "utf8");
  octal(block, 100, 8, entry.mode);
  octal(block, 108, 8, entry.uid ?? 0);
  octal(block, 116, 8, entry.gid ?? 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, Math.floor(Date.now() / 1000));
  block.fill(" ", 148, 156); // checksum field counts as spaces while summing
  block.write("0", 156, 1, "ascii"); // regular file
  block.write("ustar\u000000", 257, 8, "binary");
  block.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "binary");
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, length, "ascii");
}

/** ustar names: up to 100 bytes, plus a prefix of up to 155 split at a slash. */
function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ["", name];
  const cut = name.lastIndexOf("/", name.length - 1 - 0);
  for (let at = cut; at > 0; at = name.lastIndexOf("/", at - 1)) {
    if (Buffer.byteLength(name.slice(at + 1)) <= 100 && Buffer.byteLength(name.slice(0, at)) <= 155) return [name.slice(0, at), name.slice(at + 1)];
  }
  throw new Error(`path too long for a tar archive: ${name}`);
}
