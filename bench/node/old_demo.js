'use strict';
// Baseline "old demo": what the old Node.js demo (shared/seed-README.md) did for each callback, in one
// Node process, on its own schema (the seed README's `sessions` and `events`, created here).
//
//   OLD_DEMO_DATABASE_URL=mysql+pymysql://root@127.0.0.1:3306/db PORT=8001 MAX_EVENTS=100 node old_demo.js
//
// Per callback, four autocommitted statements, one after the other, then the answer:
//   INSERT INTO events (the callback logged), SELECT of the latest session row (twice: once by the
//   handler, once by the upsert that merges into it), INSERT ... ON DUPLICATE KEY UPDATE of that row.
// Every TRIM_EVERY_MS (60 s): SELECT COUNT(*) FROM events and, past MAX_EVENTS, a trimming DELETE.
// The real demo ran Express on top of this (body parser, router): without it this baseline is, if
// anything, faster than the old demo was.
const mysql = require('mysql2/promise');
const { callbackServer, poolOptions } = require('./server_parts');

const MAX_EVENTS = Number(process.env.MAX_EVENTS || 100);
const TRIM_EVERY_MS = Number(process.env.TRIM_EVERY_MS || 60000);
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sessions (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    uuid VARCHAR(64) NOT NULL,
    vid VARCHAR(64) DEFAULT '',
    is_login TINYINT(1) NOT NULL DEFAULT 0,
    qrcode LONGTEXT,
    qrcode_key VARCHAR(128) DEFAULT '',
    last_event VARCHAR(255) DEFAULT '',
    last_error TEXT,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY uk_uuid (uuid),
    KEY idx_updated_at (updated_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS events (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    session_uuid VARCHAR(64) DEFAULT '',
    stage VARCHAR(64) DEFAULT '',
    event_type VARCHAR(64) DEFAULT '',
    payload JSON,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    KEY idx_created_at (created_at),
    KEY idx_session_uuid (session_uuid)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];
const LATEST_SESSION = 'SELECT * FROM sessions ORDER BY updated_at DESC LIMIT 1';

const pool = mysql.createPool(poolOptions(process.env.OLD_DEMO_DATABASE_URL, 10));

async function logEvent(uuid, stage, eventType, payload) {
  await pool.query('INSERT INTO events (session_uuid, stage, event_type, payload) VALUES (?, ?, ?, ?)', [
    uuid,
    stage,
    eventType,
    JSON.stringify(payload),
  ]);
}

async function latestSession() {
  const [rows] = await pool.query(LATEST_SESSION);
  return rows[0] || null;
}

async function upsertSession(fields) {
  const current = (await latestSession()) || {};
  const row = { ...current, ...fields };
  await pool.query(
    `INSERT INTO sessions (uuid, vid, is_login, qrcode_key, last_event, last_error)
     VALUES (?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE vid = VALUES(vid), is_login = VALUES(is_login), qrcode_key = VALUES(qrcode_key),
       last_event = VALUES(last_event), last_error = VALUES(last_error), updated_at = CURRENT_TIMESTAMP`,
    [row.uuid, row.vid || '', row.is_login ? 1 : 0, row.qrcode_key || '', row.last_event || '', row.last_error || null],
  );
}

async function onCallback(body) {
  const uuid = String(body.uuid || '');
  const type = String(body.type || '');
  await logEvent(uuid, 'callback', type, body);
  const latest = await latestSession();
  await upsertSession({ uuid: (latest && latest.uuid) || uuid, last_event: `callback:${type}` });
}

async function trimEvents() {
  const [[{ total }]] = await pool.query('SELECT COUNT(*) AS total FROM events');
  if (total > MAX_EVENTS) {
    await pool.query(
      'DELETE FROM events WHERE id < (SELECT id FROM (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?) AS newest)',
      [MAX_EVENTS - 1],
    );
  }
}

const server = callbackServer(async (raw) => onCallback(JSON.parse(raw)));

async function main() {
  for (const statement of SCHEMA) {
    await pool.query(statement);
  }
  setInterval(() => trimEvents().catch((error) => console.error('trim failed:', error.message)), TRIM_EVERY_MS);
  server.keepAliveTimeout = 5000;
  server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`old demo on ${process.env.PORT}`));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
