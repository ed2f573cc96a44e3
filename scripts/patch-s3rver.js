#!/usr/bin/env node
// Patches s3rver 3.7.1 (the stand-in for MinIO in the tests) for four incompatibilities with the Minio .NET SDK.
// Each patch is idempotent and fails loudly when the code it expects is not there.
'use strict';
const fs = require('fs');
const path = require('path');

const root = process.argv[2];
if (!root) {
  console.error('usage: patch-s3rver.js <path to node_modules/s3rver>');
  process.exit(2);
}
const lib = path.join(root, 'lib');

function patch(file, marker, edits) {
  const full = path.join(lib, file);
  let text = fs.readFileSync(full, 'utf8');
  if (text.includes(marker)) return; // already patched
  for (const [from, to] of edits) {
    const next = typeof from === 'string' ? text.split(from).join(to) : text.replace(from, to);
    if (next === text) {
      console.error(`patch-s3rver: expected code not found in ${file}: ${from}`);
      process.exit(1);
    }
    text = next;
  }
  fs.writeFileSync(full, `// ${marker}\n` + text);
}

// 1. The S3 XML namespace is http://s3.amazonaws.com/doc/2006-03-01/; s3rver writes another, and the SDK then
//    reads every listing as empty.
for (const file of ['controllers/bucket.js', 'controllers/object.js', 'controllers/service.js']) {
  patch(file, 'milvus-patch: xmlns', [
    ['http://doc.s3.amazonaws.com/2006-03-01/', 'http://s3.amazonaws.com/doc/2006-03-01/'],
  ]);
}

// 2. A HEAD with a Range header must answer 200 with the whole object's headers, not 206: the SDK stats an
//    object with HEAD before a ranged read and throws PartialContentException on 206.
patch('controllers/object.js', 'milvus-patch: head-range', [
  [
    "  if (/^bytes=/.test(ctx.headers['range'])) {",
    "  if (ctx.method !== 'HEAD' && /^bytes=/.test(ctx.headers['range'])) {",
  ],
]);

// 3. HEAD bucket only says whether the bucket exists; s3rver listed up to 1000 keys for it, which slowed every
//    GetObject that the SDK precedes with a bucket check.
patch('routes.js', 'milvus-patch: head-bucket', [
  [
    "  .get('/:bucket', bucketCtrl.bucketExists, ctx => {\n    switch (ctx.params.queryMethod) {",
    "  .get('/:bucket', bucketCtrl.bucketExists, ctx => {\n    if (ctx.method === 'HEAD' && ctx.params.queryMethod === undefined) {\n      ctx.status = 200;\n      return;\n    }\n    switch (ctx.params.queryMethod) {",
  ],
]);

// 4. Concurrent deletes race on removing a directory that another delete emptied (or a put refilled); the
//    loser threw and the multi-object delete answered 500. A directory that is gone or not empty is fine.
patch('stores/filesystem.js', 'milvus-patch: rmdir-race', [
  [
    "    while (\n      parts.length &&\n      !fs.readdirSync(path.join(bucketPath, ...parts)).length\n    ) {\n      await fs.rmdir(path.join(bucketPath, ...parts));\n      parts.pop();\n    }",
    "    try {\n      while (\n        parts.length &&\n        !fs.readdirSync(path.join(bucketPath, ...parts)).length\n      ) {\n        await fs.rmdir(path.join(bucketPath, ...parts));\n        parts.pop();\n      }\n    } catch (err) {\n      if (!['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(err.code)) throw err;\n    }",
  ],
]);

console.log('patch-s3rver: s3rver is patched');
