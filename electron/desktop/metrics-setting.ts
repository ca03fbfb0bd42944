/**
 * The desktop app's Prometheus endpoint: off by default; when the person turns it on (the
 * `setMetricsEndpoint` desktop method), `GET /metrics` is served on 127.0.0.1 only, behind a
 * token kept in the app's settings so that a scrape config goes on working across restarts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { MetricsEndpointStatus } from '../../contract/desktop-api.js';
import type { ThreadlineMetrics } from '../hosts/metrics.js';
import { AccessPolicy } from '../serve/access.js';
import { answerMetrics, isMetricsPath, METRICS_PATH } from '../serve/metrics-endpoint.js';
import { readSettingsFile, writeSettingsSection } from './settings-file.js';

/** The port a scrape config points at unless the person picks another. */
export const DEFAULT_METRICS_PORT = 9740;
const LOOPBACK = '127.0.0.1';

const settingsSchema = z.object({
  metricsEndpoint: z
    .object({
      enabled: z.boolean().default(false),
      port: z.number().int().min(0).max(65_535).default(DEFAULT_METRICS_PORT),
      token: z.string().min(16).optional(),
    })
    .default({ enabled: false, port: DEFAULT_METRICS_PORT }),
});
type Settings = z.output<typeof settingsSchema>;

export class MetricsEndpointSetting {
  private settings: Settings;
  private server: Server | null = null;
  private boundPort: number | null = null;
  private problem: string | null = null;

  constructor(
    /** `settings.json` in the app's user-data folder. */
    private readonly settingsFile: string,
    private readonly metrics: ThreadlineMetrics,
    private readonly log: (line: string) => void = (line) => console.warn(line),
  ) {
    this.settings = this.read();
  }

  /** At launch: serves the endpoint if it was left on. */
  async start(): Promise<MetricsEndpointStatus> {
    if (this.settings.metricsEndpoint.enabled) await this.listen();
    return this.status();
  }

  status(): MetricsEndpointStatus {
    const { enabled, port, token } = this.settings.metricsEndpoint;
    const url = this.boundPort === null ? null : `http://${LOOPBACK}:${this.boundPort}${METRICS_PATH}`;
    return { enabled, port, url, token: enabled ? (token ?? null) : null, problem: this.problem };
  }

  /** Turns the endpoint on or off (and moves it to another port); the choice is kept for the next launch. */
  async set(change: { enabled: boolean; port?: number }): Promise<MetricsEndpointStatus> {
    const current = this.settings.metricsEndpoint;
    this.settings = {
      ...this.settings,
      metricsEndpoint: { enabled: change.enabled, port: change.port ?? current.port, token: current.token ?? randomBytes(32).toString('base64url') },
    };
    this.write();
    await this.stopListening();
    this.problem = null;
    if (change.enabled) await this.listen();
    return this.status();
  }

  close(): Promise<void> {
    return this.stopListening();
  }

  private async listen(): Promise<void> {
    const { port, token } = this.settings.metricsEndpoint;
    if (!token) {
      this.settings.metricsEndpoint.token = randomBytes(32).toString('base64url');
      this.write();
    }
    let access: AccessPolicy | null = null;
    const server = createServer((request, response) => {
      const target = request.url ?? '/';
      if (!access?.hostAllowed(request) || !isMetricsPath(target)) {
        response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        return response.end(`not found: only ${METRICS_PATH} is served here\n`);
      }
      void answerMetrics(request, response, this.metrics, this.settings.metricsEndpoint.token!);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, LOOPBACK, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      this.problem = `cannot listen on ${LOOPBACK}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use; pick another' : message}`;
      this.log(`Threadline metrics: ${this.problem}`);
      return;
    }
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    access = new AccessPolicy(LOOPBACK, this.boundPort);
  }

  private async stopListening(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.boundPort = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A missing or unreadable file means the defaults (the endpoint off); a broken one is said so, not fatal. */
  private read(): Settings {
    const parsed = settingsSchema.safeParse(readSettingsFile(this.settingsFile, this.log));
    if (parsed.success) return parsed.data;
    this.log(`Threadline: ${this.settingsFile} does not hold valid settings (${parsed.error.issues[0]?.message ?? 'invalid'}); using the defaults`);
    return settingsSchema.parse({});
  }

  /** Its own section only: the file holds other settings too. */
  private write(): void {
    writeSettingsSection(this.settingsFile, 'metricsEndpoint', this.settings.metricsEndpoint);
  }
}
