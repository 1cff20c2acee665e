'use strict';
// Baseline "the limit": bare Node http + one mysql2 INSERT per callback, in one Node process. The
// cheapest way to take in a callback on this machine and database; no product does less.
//
//   LIMIT_DATABASE_URL=mysql+pymysql://root@127.0.0.1:3306/db PORT=8002 node limit.js
//
// Same table and columns as the bare Flask floor (bench/baseline_app.py).
const mysql = require('mysql2/promise');
const { callbackServer, poolOptions } = require('./server_parts');

const TABLE = 'baseline_callbacks';
const pool = mysql.createPool(poolOptions(process.env.LIMIT_DATABASE_URL, 16));

const server = callbackServer(async (raw) => {
  const body = JSON.parse(raw);
  await pool.query(`INSERT INTO ${TABLE} (uuid, type, body) VALUES (?, ?, ?)`, [
    String(body.uuid || '').slice(0, 64),
    Number(body.type || 0),
    raw,
  ]);
});

server.keepAliveTimeout = 5000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`limit on ${process.env.PORT}`));
