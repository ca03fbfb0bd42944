import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ThreadlineApi } from '../../../contract/api';
import type { DashboardStore } from '../store/dashboard-store';

export interface Dashboard {
  api: ThreadlineApi;
  store: DashboardStore;
}

export const DashboardContext = createContext<Dashboard | null>(null);

export function useDashboard(): Dashboard {
  const dashboard = useContext(DashboardContext);
  if (!dashboard) throw new Error('useDashboard outside of <DashboardContext.Provider>');
  return dashboard;
}

/** Re-renders the caller at most once per animation frame while the store changes. */
export function useStoreVersion(store: DashboardStore): number {
  return useSyncExternalStore(store.subscribe, store.getVersion);
}
