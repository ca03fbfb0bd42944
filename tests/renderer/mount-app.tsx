import { act, render } from '@testing-library/react';
import type { ApiEvent } from '../../contract/api';
import { App } from '../../renderer/src/app/App';
import { DashboardStore } from '../../renderer/src/store/dashboard-store';
import { RecordingApi } from './recording-api';
import { manualFrames } from './records';

/**
 * Renders the whole dashboard on a recording API, with animation frames run by hand: `send`
 * delivers an event and runs the frame that applies it, `flush` runs pending frames alone.
 * A `first` event (a snapshot, usually) is sent at once.
 */
export function mountApp(api: RecordingApi = new RecordingApi(), first?: ApiEvent) {
  const frames = manualFrames();
  const store = new DashboardStore({ onGap: () => void api.resync(), schedule: frames.schedule });
  render(<App api={api} store={store} />);
  const send = (event: ApiEvent): void =>
    act(() => {
      api.emit(event);
      frames.flush();
    });
  const flush = () => act(() => void frames.flush());
  if (first) send(first);
  return { api, store, send, flush };
}
