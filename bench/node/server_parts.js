'use strict';
const http = require('node:http');
// mysql2 pool options from the runner's SQLAlchemy-style URL (mysql+pymysql://user:password@host:port/db).

function poolOptions(url, connectionLimit) {
  const parsed = new URL(url.replace(/^mysql\+\w+:/, 'mysql:'));
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password || ''),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
    charset: 'utf8mb4',
    connectionLimit,
  };
}

// The request body, read whole (what express.json() did for the old demo).
function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function reply(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

// The two routes both baselines serve: POST /callback/wxwork (the raw body to `onCallback`, then the
// upstream's `{errcode: 0}`) and GET /api/health; anything else is a 404, a failure a 500 with its message.
function callbackServer(onCallback) {
  return http.createServer(async (request, response) => {
    try {
      if (request.method === 'POST' && request.url.split('?')[0] === '/callback/wxwork') {
        await onCallback(await readBody(request));
        reply(response, 200, { errcode: 0, errmsg: 'ok' });
      } else if (request.method === 'GET' && request.url === '/api/health') {
        reply(response, 200, { ok: true });
      } else {
        reply(response, 404, { ok: false, message: 'not found' });
      }
    } catch (error) {
      reply(response, 500, { ok: false, message: String(error && error.message) });
    }
  });
}

module.exports = { callbackServer, poolOptions, readBody, reply };
