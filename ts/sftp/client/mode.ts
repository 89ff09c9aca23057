/**
 * Python/Paramiko file modes ('r', 'w+', 'ab', 'x', ...) to SSH_FXF_* open
 * flags. 'b' and 't' change nothing on the wire; 'b' makes line iteration
 * yield Buffers instead of strings.
 */
import { SFTPError } from '../../errors.js';
import { FX, FXF } from '../../wire/sftpConstants.js';

export interface ParsedMode {
  pflags: number;
  readable: boolean;
  writable: boolean;
  append: boolean;
  binary: boolean;
}

/** Parses a mode string; anything unknown is an SFTPError(FAILURE) naming the mode. */
export function parseMode(mode: string): ParsedMode {
  const m = /^([rwax])(\+?)([bt]?)(\+?)$/.exec(mode);
  if (!m || (m[2] && m[4])) throw new SFTPError(`invalid file mode ${JSON.stringify(mode)}`, FX.FAILURE);
  const base = m[1]!;
  const plus = m[2] === '+' || m[4] === '+';
  const binary = m[3] === 'b';
  let pflags = 0;
  let readable = false;
  let writable = false;
  switch (base) {
    case 'r':
      pflags = FXF.READ;
      readable = true;
      break;
    case 'w':
      pflags = FXF.WRITE | FXF.CREAT | FXF.TRUNC;
      writable = true;
      break;
    case 'a':
      pflags = FXF.WRITE | FXF.CREAT | FXF.APPEND;
      writable = true;
      break;
    case 'x':
      pflags = FXF.WRITE | FXF.CREAT | FXF.EXCL;
      writable = true;
      break;
  }
  if (plus) {
    pflags |= FXF.READ | FXF.WRITE;
    readable = writable = true;
  }
  return { pflags, readable, writable, append: base === 'a', binary };
}

/** Node fs-style flags ('w', 'a', 'r+', 'wx', ...) as used by createWriteStream. */
export function parseNodeFlags(flags: string): ParsedMode {
  const m = /^([rwa])(s?)(x?)(\+?)$/.exec(flags);
  if (!m) throw new SFTPError(`invalid flags ${JSON.stringify(flags)}`, FX.FAILURE);
  const parsed = parseMode(m[1]! + m[4]!);
  if (m[3] === 'x') parsed.pflags |= FXF.EXCL;
  return parsed;
}
