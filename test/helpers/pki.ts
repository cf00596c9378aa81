import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway certificate authority with a server and client certificates, made with `openssl`. */
export interface Pki {
  dir: string;
  /** CA certificate (PEM text). */
  ca: string;
  serverCert: string;
  serverKey: string;
  /** One PEM holding the client certificate and its key, like a CADC proxy certificate. */
  clientPemPath: string;
  /** Same, but the certificate expired yesterday. */
  expiredPemPath: string;
  /** A client PEM signed by ANOTHER CA: a server requiring ours must refuse it. */
  strangerPemPath: string;
  cleanup(): void;
}

/** Whether openssl is on the PATH (Debian package `openssl`). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
  ]);
}

function sign(dir: string, ca: string, name: string, subject: string, days: number, ext?: string): void {
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  const extArgs = ext ? ['-extfile', writeExt(dir, name, ext)] : [];
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    String(days),
    ...extArgs,
  ]);
}

function writeExt(dir: string, name: string, text: string): string {
  const file = join(dir, `${name}.ext`);
  writeFileSync(file, text);
  return file;
}

function combined(dir: string, name: string): string {
  const file = join(dir, `${name}-proxy.pem`);
  writeFileSync(
    file,
    readFileSync(join(dir, `${name}.pem`), 'utf8') + readFileSync(join(dir, `${name}.key`), 'utf8'),
    { mode: 0o600 },
  );
  return file;
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'canfar-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other');
  sign(dir, 'ca', 'server', '/CN=localhost', 2, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  sign(dir, 'ca', 'client', '/C=ca/O=hia/OU=cadc/CN=jdoe', 2);
  sign(dir, 'ca', 'expired', '/C=ca/O=hia/OU=cadc/CN=oldtimer', -1);
  sign(dir, 'other', 'stranger', '/CN=mallory', 2);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    ca: read('ca.pem'),
    serverCert: read('server.pem'),
    serverKey: read('server.key'),
    clientPemPath: combined(dir, 'client'),
    expiredPemPath: combined(dir, 'expired'),
    strangerPemPath: combined(dir, 'stranger'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
