import { describe, expect, it } from 'vitest';
import { tlsAlertOf } from '../../../src/engine/transport/connection-error.js';

describe('tlsAlertOf', () => {
  it.each([
    ['Node code', Object.assign(new Error('x'), { code: 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE' }), 'bad certificate'],
    ['Node TLS 1.3 code', Object.assign(new Error('x'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }), 'certificate required'],
    ['an OpenSSL alert number', new Error('ssl3_read_bytes:reason(1116):SSL alert number 116'), 'certificate required'],
    ["Deno's fetch cause", new TypeError('fetch failed', { cause: new Error('received fatal alert: BadCertificate') }), 'bad certificate'],
    ['no alert (Bun)', Object.assign(new Error('EPROTO: The TLS handshake failed'), { code: 'EPROTO' }), undefined],
  ])('reads %s', (_, error, alert) => {
    expect(tlsAlertOf(error)).toBe(alert);
  });
});
