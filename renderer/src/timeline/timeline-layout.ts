import { remoteThreadLabel, workerLabel } from '../worker-names';
import type { TimelineLane } from './timeline-index';

/** Geometry of the timeline in CSS pixels. */
export const AXIS_HEIGHT = 24;
export const LABEL_WIDTH = 112;
export const ROW_HEIGHT = 16;
/** The strip above a lane's bars where queue waits are drawn. */
export const WAIT_HEIGHT = 6;
export const LANE_PADDING = 4;
/** The band naming a remote machine above its thread lanes. */
export const MACHINE_HEADER_HEIGHT = 18;

export interface LaneLayout {
  lane: TimelineLane;
  top: number;
  height: number;
  waitTop: number;
  rowsTop: number;
}

/** A remote machine's header: a full-width band above the lanes of its threads. */
export interface MachineHeaderLayout {
  machine: string;
  top: number;
  height: number;
}

export interface TimelineLayout {
  lanes: LaneLayout[];
  headers: MachineHeaderLayout[];
  height: number;
}

export function layoutLanes(lanes: readonly TimelineLane[]): TimelineLayout {
  let y = AXIS_HEIGHT;
  const out: LaneLayout[] = [];
  const headers: MachineHeaderLayout[] = [];
  let machine: string | null = null;
  for (const lane of lanes) {
    // Remote lanes come grouped by machine: a header where a machine's lanes begin.
    const laneMachine = lane.remote?.machine ?? null;
    if (laneMachine !== null && laneMachine !== machine) {
      headers.push({ machine: laneMachine, top: y, height: MACHINE_HEADER_HEIGHT });
      y += MACHINE_HEADER_HEIGHT;
    }
    machine = laneMachine;
    const height = LANE_PADDING * 2 + WAIT_HEIGHT + 1 + lane.rowCount * ROW_HEIGHT;
    out.push({ lane, top: y, height, waitTop: y + LANE_PADDING, rowsTop: y + LANE_PADDING + WAIT_HEIGHT + 1 });
    y += height;
  }
  return { lanes: out, headers, height: y + 2 };
}

/** The lane and row under a y coordinate (row -1 over the wait strip), or null (a header, the axis). */
export function laneAtY(layout: readonly LaneLayout[], y: number): { lane: LaneLayout; row: number } | null {
  for (const lane of layout) {
    if (y < lane.top || y >= lane.top + lane.height) continue;
    const row = Math.floor((y - lane.rowsTop) / ROW_HEIGHT);
    return { lane, row: Math.min(row, lane.lane.rowCount - 1) };
  }
  return null;
}

/** A lane's whole name: `event loop`, `thread 7`, `build-07/3`. */
export function laneLabel(lane: TimelineLane): string {
  return workerLabel(lane.id);
}

/** A lane's name at its left edge: under a machine's header, just its thread there. */
export function laneShortLabel(lane: TimelineLane): string {
  return lane.remote ? remoteThreadLabel(lane.remote) : laneLabel(lane);
}
