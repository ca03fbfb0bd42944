import { describe, expect, it } from 'vitest';
import { scanElectronApp } from '../../scripts/electron-security-scan.mjs';
import { REPO_ROOT } from '../support/cli.js';

interface Finding {
  id: string;
  file: string;
  line?: number;
  severity: string;
  confidence: string;
  description: string;
}

const BLOCKING = new Set(['HIGH', 'CRITICAL']);

describe('Electronegativity over the desktop and renderer sources', () => {
  it('finds nothing of high severity or above', async () => {
    const report = (await scanElectronApp(['electron', 'renderer', 'contract', 'package.json'], { root: REPO_ROOT })) as {
      checks: number;
      files: number;
      errors: Array<{ file: string; message: string }>;
      issues: Finding[];
    };
    // The scan must really have run: its checks loaded and every file parsed.
    expect(report.checks).toBeGreaterThanOrEqual(30);
    expect(report.files).toBeGreaterThan(50);
    expect(report.errors).toEqual([]);
    const blocking = report.issues.filter((issue) => BLOCKING.has(issue.severity));
    expect(blocking.map((i) => `${i.id} ${i.file}:${i.line ?? '?'} ${i.description}`)).toEqual([]);
  });
});
