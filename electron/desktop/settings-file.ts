/**
 * The desktop app's `settings.json`: one section per setting (the metrics endpoint, the remote
 * workers), each read and written by its own module. A write replaces its own section only, so
 * that one setting never puts back a stale copy of another.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The file's sections; a missing or unreadable file is none, a broken one is said so once and is none. */
export function readSettingsFile(settingsFile: string, log: (line: string) => void): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(settingsFile, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    log(`Threadline: ${settingsFile} does not hold valid settings (expected an object); using the defaults`);
  } catch (error) {
    log(`Threadline: ${settingsFile} is not valid JSON (${(error as Error).message.split('\n')[0]}); using the defaults`);
  }
  return {};
}

/** Replaces one section, atomically, readable by its owner only: the file holds secrets (a token, a password). */
export function writeSettingsSection(settingsFile: string, section: string, value: unknown): void {
  const settings = readSettingsFile(settingsFile, () => {});
  settings[section] = value;
  mkdirSync(dirname(settingsFile), { recursive: true });
  const temp = `${settingsFile}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, settingsFile);
}
