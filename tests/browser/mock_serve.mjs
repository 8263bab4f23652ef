#!/usr/bin/env node
// A stand-in for `transformer serve`, for developing the page and the test's
// served mode only: GET / → web/index.html, GET /FILE.js|.css → web/FILE,
// GET /healthz → {"status":"ok"}, GET /v1/model-info → RECORD.model-info.json
// (make_synthetic_record.mjs writes it), POST /v1/explain → the record in RECORD.json
// (an empty "text" → 400 {"error": ...}, as the real server answers).
//
//   node mock_serve.mjs RECORD.json PORT
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [recordPath, port] = process.argv.slice(2);
const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
createServer((req, res) => {
  const send = (code, type, body) => { res.writeHead(code, { 'Content-Type': type }); res.end(body); };
  if (req.method === 'GET' && req.url === '/healthz') return send(200, 'application/json', '{"status":"ok"}');
  if (req.method === 'GET' && req.url === '/v1/model-info') {
    return send(200, 'application/json', readFileSync(recordPath.replace(/(\.json)?$/, '.model-info.json')));
  }
  if (req.method === 'GET') {
    const name = req.url === '/' ? 'index.html' : req.url.slice(1);
    if (!/^[\w-]+\.(html|js|css)$/.test(name) || !existsSync(join(web, name))) return send(404, 'application/json', '{"error":"not found"}');
    return send(200, types[name.slice(name.lastIndexOf('.'))], readFileSync(join(web, name)));
  }
  if (req.method === 'POST' && req.url === '/v1/explain') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      let q;
      try { q = JSON.parse(body); } catch (e) { return send(400, 'application/json', JSON.stringify({ error: 'request body is not JSON: ' + e.message })); }
      if (typeof q.text !== 'string' || !q.text.trim()) return send(400, 'application/json', JSON.stringify({ error: 'field "text": expected a non-empty string' }));
      send(200, 'application/json', readFileSync(recordPath));
    });
    return;
  }
  send(405, 'application/json', '{"error":"method not allowed"}');
}).listen(Number(port), '127.0.0.1', () => console.log('mock serve on http://127.0.0.1:' + port + '/'));
