// Nodemailer for the smtpkit matrix (harness/drivers/external/nodemailer.py; issue 18).
// stdin: {"transport", "host", "port", "path", "cafile", "timeout", "local_hostname", "lmtp",
// "starttls", "login": [user, secret] | null, "oauth2", "sender", "recipients", "message"}
// (a base.Plan). With a sender: transporter.sendMail({envelope, raw}); without: verify()
// (connect, EHLO, STARTTLS, AUTH, QUIT). stdout: one JSON object {"log": [[dir, line]...],
// "result": {"ok": true, "response", "rejectedErrors": [...]} | {"ok": false, "error": {...}}}.
// The protocol log comes from Nodemailer's own debug logger (tnx client/server).
'use strict';
const fs = require('fs');
const net = require('net');
const util = require('util');
const nodemailer = require('nodemailer');

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const log = [];
const logger = {};
for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
  logger[level] = (entry, message, ...args) => {
    const text = util.format(message, ...args);
    if (entry && entry.tnx === 'server') for (const l of text.split(/\r?\n/)) log.push(['<', l]);
    else if (entry && entry.tnx === 'client') log.push(['>', text]);
    else log.push(['*', `${level} ${text}`]);
  };
}

const ms = Math.round(input.timeout * 1000);
const options = {
  host: input.host || 'localhost',
  port: input.port || 25,
  secure: input.transport === 'tls',
  requireTLS: input.starttls,
  ignoreTLS: !input.starttls && input.transport !== 'tls',
  lmtp: input.lmtp,
  name: input.local_hostname || 'client.smtpkit.test',
  tls: { ca: fs.readFileSync(input.cafile), servername: input.transport === 'unix' ? 'localhost' : input.host },
  connectionTimeout: ms, greetingTimeout: ms, socketTimeout: ms,
  logger, debug: true,
};
if (input.login) {
  options.auth = input.oauth2
    ? { type: 'OAuth2', user: input.login[0], accessToken: input.login[1] }
    : { user: input.login[0], pass: input.login[1] };
}
if (input.transport === 'unix') {
  // Nodemailer connects over TCP itself; getSocket hands it a connected Unix socket instead.
  options.getSocket = (opts, callback) => {
    const socket = net.createConnection({ path: input.path });
    socket.once('connect', () => callback(null, { connection: socket }));
    socket.once('error', err => callback(err));
  };
}

function errorFields(err) {
  const out = {};
  for (const k of ['code', 'command', 'responseCode', 'response', 'message', 'reason']) {
    if (err[k] !== undefined) out[k] = String(err[k]);
  }
  if (err.responseCode !== undefined) out.responseCode = Number(err.responseCode);
  if (err.rejectedErrors) out.rejectedErrors = err.rejectedErrors.map(e => ({ recipient: e.recipient, responseCode: e.responseCode, response: e.response }));
  if (err.cause) out.cause = String(err.cause.code || err.cause.message || err.cause);
  return out;
}

// The callback comes before Nodemailer's QUIT: the output is written when Node exits, after the
// connection has ended the way Nodemailer ends it (process.exit here would cut it short).
let outcome = null;
function finish(result) { outcome = result; }
process.on('exit', () => {
  process.stdout.write(JSON.stringify({ log, result: outcome || { ok: false, error: { message: 'no callback' } } }) + '\n');
});

const transporter = nodemailer.createTransport(options);
const done = (err, info) => {
  if (err) return finish({ ok: false, error: errorFields(err) });
  const rejected = (info && info.rejectedErrors) || [];
  finish({ ok: true, response: info && info.response,
           rejectedErrors: rejected.map(e => ({ recipient: e.recipient, responseCode: e.responseCode, response: e.response })) });
};
if (input.sender) {
  transporter.sendMail({ envelope: { from: input.sender, to: input.recipients }, raw: Buffer.from(input.message, 'utf8') }, done);
} else {
  transporter.verify(done);
}
