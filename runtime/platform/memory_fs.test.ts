import { test } from "uvu";
import * as assert from "uvu/assert";
import { FileNotFoundError, MemoryFileSystem, StaleFileHandleError } from "./memory_fs.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

test("crash keeps synced appends and drops the rest", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("d");
  const f = await fs.openAppend("d/log");
  await f.write([enc.encode("durable ")]);
  await f.sync();
  await f.write([enc.encode("lost")]);
  assert.is(dec.decode(await fs.readFile("d/log")), "durable lost");
  fs.crash();
  assert.is(dec.decode(await fs.readFile("d/log")), "durable ");
});

test("crash invalidates handles opened before it", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("d");
  const f = await fs.openAppend("d/log");
  fs.crash();
  try {
    await f.write([enc.encode("x")]);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, StaleFileHandleError);
  }
});

test("an atomic write without sync reverts on crash; with sync it stays", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("d");
  await fs.writeFileAtomic("d/a", enc.encode("v1"), { sync: true });
  await fs.writeFileAtomic("d/a", enc.encode("v2"));
  await fs.writeFileAtomic("d/b", enc.encode("new"));
  fs.crash();
  assert.is(dec.decode(await fs.readFile("d/a")), "v1");
  assert.is(await fs.readFile("d/b"), undefined);
});

test("directories: mkdirp, readDir, exists, remove, missing parents", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("./x//y/z");
  await fs.writeFileAtomic("x/y/f", enc.encode("1"), { sync: true });
  assert.equal(await fs.readDir("x/y"), ["f", "z"]);
  assert.equal(await fs.readDir("nowhere"), []);
  assert.ok(await fs.exists("x/y/z"));
  await fs.remove("x/y/f");
  assert.is(await fs.exists("x/y/f"), false);
  await fs.writeFileAtomic("x/y/z/g", enc.encode("2"), { sync: true });
  await fs.remove("x/y");
  assert.equal(await fs.readDir("x"), []);
  assert.is(await fs.readFile("x/y/z/g"), undefined);
  try {
    await fs.openAppend("nope/file");
    assert.unreachable();
  } catch (error) {
    assert.instance(error, FileNotFoundError);
  }
});

test.run();
