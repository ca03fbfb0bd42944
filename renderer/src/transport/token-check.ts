import { API_WEBSOCKET_PATH, TOKEN_QUERY_PARAM } from '../../../contract/api';

export type TokenCheck = 'accepted' | 'refused' | 'unreachable';

/**
 * Why a WebSocket would not open, which the browser does not say: asks the same path over plain
 * HTTP, where `threadline serve` answers 401 to a wrong token (and 426 to a right one).
 */
export async function checkToken(location: Pick<Location, 'origin' | 'search'>, fetchImpl: typeof fetch = fetch): Promise<TokenCheck> {
  const token = new URLSearchParams(location.search).get(TOKEN_QUERY_PARAM) ?? '';
  try {
    const response = await fetchImpl(`${location.origin}${API_WEBSOCKET_PATH}?${TOKEN_QUERY_PARAM}=${encodeURIComponent(token)}`, { cache: 'no-store' });
    return response.status === 401 ? 'refused' : 'accepted';
  } catch {
    return 'unreachable';
  }
}
