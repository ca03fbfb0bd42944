import { workerLabel } from '../worker-names';
import type { TimelineLane } from './timeline-index';

/** Geometry of the timeline in CSS pixels. */
export const AXIS_HEIGHT = 24;
export const LABEL_WIDTH = 112;
export const ROW_HEIGHT = 16;
/** The strip above a lane's bars where queue waits are drawn. */
export const WAIT_HEIGHT = 6;
export const LANE_PADDING = 4;

export interface LaneLayout {
  lane: TimelineLane;
  top: number;
  height: number;
  waitTop: number;
  rowsTop: number;
}

export function layoutLanes(lanes: readonly TimelineLane[]): { lanes: LaneLayout[]; height: number } {
  let y = AXIS_HEIGHT;
  const out: LaneLayout[] = [];
  for (const lane of lanes) {
    const height = LANE_PADDING * 2 + WAIT_HEIGHT + 1 + lane.rowCount * ROW_HEIGHT;
    out.push({ lane, top: y, height, waitTop: y + LANE_PADDING, rowsTop: y + LANE_PADDING + WAIT_HEIGHT + 1 });
    y += height;
  }
  return { lanes: out, height: y + 2 };
}

/** The lane and row under a y coordinate (row -1 over the wait strip), or null. */
export function laneAtY(layout: readonly LaneLayout[], y: number): { lane: LaneLayout; row: number } | null {
  for (const lane of layout) {
    if (y < lane.top || y >= lane.top + lane.height) continue;
    const row = Math.floor((y - lane.rowsTop) / ROW_HEIGHT);
    return { lane, row: Math.min(row, lane.lane.rowCount - 1) };
  }
  return null;
}

export function laneLabel(lane: TimelineLane): string {
  return workerLabel(lane.id);
}
