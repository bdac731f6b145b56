import { BACKEND_NAMES, probeBackends, loadBackend, type BackendInfo, type BackendProbe } from '@rmt/backend';

export interface InfoReport {
  backends: BackendProbe[];
  /** The backend `auto` picks in this process. */
  picked: BackendInfo['name'];
  device: string;
  reason: string;
}

/** What `rmt info` reports: every backend with its availability, and the one `auto` picks. */
export async function backendReport(): Promise<InfoReport> {
  const backends = await probeBackends();
  const picked = await loadBackend('auto');
  return { backends, picked: picked.name, device: picked.device, reason: picked.reason };
}

export function formatInfo(report: InfoReport): string {
  const width = Math.max(...BACKEND_NAMES.map((name) => name.length));
  const lines = report.backends.map(
    (b) =>
      `  ${b.name === report.picked ? '*' : ' '} ${b.name.padEnd(width)}  ${b.available ? 'available  ' : 'unavailable'}  ${b.reason}`,
  );
  return [`Backends (* = picked by auto: ${report.device}):`, ...lines].join('\n');
}
