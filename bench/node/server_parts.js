'use strict';
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

module.exports = { poolOptions, readBody, reply };
