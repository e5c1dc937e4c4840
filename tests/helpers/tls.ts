/** A throwaway self-signed certificate for 127.0.0.1/localhost (openssl), for TLS listeners in tests. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './gateway.ts';

export interface TestCert {
  certFile: string;
  keyFile: string;
  /** The certificate itself: a client trusts it as its CA. */
  cert: Buffer;
}

export function selfSignedCert(prefix = 'ct-tls-'): TestCert {
  const dir = tempDir(prefix);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile) };
}
