#!/usr/bin/env node
// Check a tfclica export outside Python: load encoder.onnx with onnxruntime-node, run the
// recorded inputs of reference_io.npz and compare every output it records (z_hat, and the
// aligned outputs z_aligned, z_permuted of format_version 2) within 1e-5 (an aligned output:
// z_hat's tolerance through its map, as metadata.json records it); also g.onnx (z -> x) and
// g_inverse.onnx (x -> z) in mixing/ when the export has them.
//
//   npm ci --ignore-scripts --prefix tools/node_check
//   node tools/node_check/check_export.mjs saved_models/default-seed0 [--tolerance 1e-5]
//
// Exit code 0: every check passed; 1: a check failed; 2: bad usage or unreadable files.
// Only Node.js built-ins and onnxruntime-node: .npz is a zip of .npy files, read here.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { inflateRawSync } from "node:zlib";

import * as ort from "onnxruntime-node";

class UsageError extends Error {}

// --- .npz (zip) and .npy readers ------------------------------------------------------------

/** The members of a zip archive: Map name -> Buffer (stored or deflated, zip64 aware). */
function readZip(buffer) {
  let eocd = -1;
  for (let i = buffer.length - 22; i >= Math.max(0, buffer.length - 65557); i--) {
    if (buffer.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new UsageError("not a zip archive (no end of central directory)");
  let count = buffer.readUInt16LE(eocd + 10);
  let offset = buffer.readUInt32LE(eocd + 16);
  if (offset === 0xffffffff || count === 0xffff) {
    const locator = eocd - 20; // zip64 end of central directory locator
    const record = Number(buffer.readBigUInt64LE(locator + 8));
    count = Number(buffer.readBigUInt64LE(record + 32));
    offset = Number(buffer.readBigUInt64LE(record + 48));
  }
  const members = new Map();
  for (let k = 0; k < count; k++) {
    if (buffer.readUInt32LE(offset) !== 0x02014b50) throw new UsageError("damaged zip directory");
    const method = buffer.readUInt16LE(offset + 10);
    let compressed = buffer.readUInt32LE(offset + 20);
    let size = buffer.readUInt32LE(offset + 24);
    const nameLength = buffer.readUInt16LE(offset + 28);
    const extraLength = buffer.readUInt16LE(offset + 30);
    const commentLength = buffer.readUInt16LE(offset + 32);
    let local = buffer.readUInt32LE(offset + 42);
    const name = buffer.toString("utf8", offset + 46, offset + 46 + nameLength);
    // Zip64 extra field (id 1): the 64-bit values of whichever fields are 0xffffffff.
    let extra = offset + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = buffer.readUInt16LE(extra);
      const length = buffer.readUInt16LE(extra + 2);
      if (id === 1) {
        let p = extra + 4;
        if (size === 0xffffffff) (size = Number(buffer.readBigUInt64LE(p))), (p += 8);
        if (compressed === 0xffffffff) (compressed = Number(buffer.readBigUInt64LE(p))), (p += 8);
        if (local === 0xffffffff) local = Number(buffer.readBigUInt64LE(p));
      }
      extra += 4 + length;
    }
    const dataStart = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
    const raw = buffer.subarray(dataStart, dataStart + compressed);
    if (method === 0) members.set(name, raw);
    else if (method === 8) members.set(name, inflateRawSync(raw));
    else throw new UsageError(`zip member ${name}: unsupported compression method ${method}`);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return members;
}

const DTYPES = { "<f4": Float32Array, "<f8": Float64Array };

/** An .npy buffer as {shape, data} (little-endian float32/float64, C order). */
function readNpy(buffer, name = "array") {
  if (buffer.toString("latin1", 0, 6) !== "\x93NUMPY") throw new UsageError(`${name}: not .npy`);
  const major = buffer[6];
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buffer.toString("latin1", start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (!(descr in DTYPES) || (fortran && shape.length > 2)) {
    throw new UsageError(`${name}: dtype ${descr} of shape (${shape}) unsupported`);
  }
  const Type = DTYPES[descr];
  const bytes = buffer.subarray(start + headerLength);
  const copy = new Uint8Array(bytes); // aligned copy: typed arrays need an aligned offset
  let data = new Type(copy.buffer, 0, shape.reduce((a, b) => a * b, 1));
  if (fortran && shape.length === 2) {
    const [rows, cols] = shape; // column-major on disk: reorder to row-major
    const ordered = new Type(data.length);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) ordered[i * cols + j] = data[j * rows + i];
    data = ordered;
  }
  return { shape, data };
}

/** Every array of an .npz file: {name: {shape, data}}. */
function readNpz(file) {
  const arrays = {};
  for (const [member, bytes] of readZip(readFileSync(file))) {
    if (member.endsWith(".npy")) arrays[member.slice(0, -4)] = readNpy(bytes, member);
  }
  return arrays;
}

// --- the checks -----------------------------------------------------------------------------

function maxAbsDiff(got, expected) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(got[i] - expected[i]);
    if (!(d <= worst)) worst = d; // NaN propagates (and fails)
  }
  return worst;
}

async function run(file, inputName, input) {
  const session = await ort.InferenceSession.create(file);
  if (session.inputNames.length !== 1 || session.inputNames[0] !== inputName) {
    throw new UsageError(`${file}: expected one input '${inputName}', got ${session.inputNames}`);
  }
  const data = Float32Array.from(input.data);
  const feeds = { [inputName]: new ort.Tensor("float32", data, input.shape) };
  return [session.outputNames, await session.run(feeds)];
}

/** The checks of one export: [{file, output, rows, diff, ok}]. */
async function checkExport(exportDir, tolerance = 1e-5) {
  const referenceFile = path.join(exportDir, "reference_io.npz");
  const encoderFile = path.join(exportDir, "encoder.onnx");
  for (const f of [referenceFile, encoderFile]) {
    if (!existsSync(f)) throw new UsageError(`${f}: no such file`);
  }
  const reference = readNpz(referenceFile);
  for (const key of ["x", "z", "z_hat"]) {
    if (!(key in reference)) throw new UsageError(`${referenceFile}: no array '${key}'`);
  }
  // An aligned output's tolerance is z_hat's carried through its map (metadata.json records it).
  const metadataFile = path.join(exportDir, "metadata.json");
  const metadata = existsSync(metadataFile) ? JSON.parse(readFileSync(metadataFile, "utf8")) : {};
  const recorded = metadata.parity?.outputs ?? {};
  const results = [];
  const record = (file, output, got, expected) => {
    const bound = Math.max(tolerance, recorded[output]?.tolerance ?? 0);
    const diff = maxAbsDiff(got.data, expected.data);
    const ok = got.dims.join(",") === expected.shape.join(",") && diff <= bound;
    results.push({ file, output, rows: expected.shape[0], diff, bound, ok });
  };
  const [names, outputs] = await run(encoderFile, "x", reference.x);
  for (const name of names) {
    if (name in reference) record(encoderFile, name, outputs[name], reference[name]);
  }
  const generators = [
    ["g.onnx", "z", "x"],
    ["g_inverse.onnx", "x", "z"],
  ];
  for (const [file, input, output] of generators) {
    const graph = path.join(exportDir, "mixing", file);
    if (!existsSync(graph)) continue;
    const [, got] = await run(graph, input, reference[input]);
    record(graph, output, got[output], reference[output]);
  }
  return results;
}

async function main(argv) {
  const args = argv.slice(2);
  let tolerance = 1e-5;
  const i = args.indexOf("--tolerance");
  if (i >= 0) {
    tolerance = Number(args[i + 1]);
    args.splice(i, 2);
  }
  if (args.length !== 1 || !(tolerance >= 0)) {
    throw new UsageError("usage: node check_export.mjs EXPORT_DIR [--tolerance 1e-5]");
  }
  const results = await checkExport(args[0], tolerance);
  for (const r of results) {
    const verdict = r.ok ? "ok" : "FAILED";
    console.log(
      `${verdict} ${r.file} ${r.output}: max |diff| ${r.diff.toExponential(3)} on ${r.rows} ` +
        `rows (tolerance ${r.bound.toExponential(2)}, onnxruntime-node ${ort.env.versions?.common ?? ""})`,
    );
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`Error: ${err.message.split("\n")[0]}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
