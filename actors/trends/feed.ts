/**
 * trends-feed: keeps the TrendsView read model current from trend signals (`tw.trends.>`) and
 * closed windows (`tw.agg.>`). A cache, not a source of truth: acknowledged on receipt, and
 * rebuilt from live traffic after a restart. Its consumers are live followers (see
 * ConsumeOptions.live): they never hold messages back for a trends edge that went away.
 */
import type { ActorBehaviour, MessageInput } from "../../runtime/core/actor.ts";
import { MessageType, validateAggBatch, validateTrendSignal, type AggBatch, type TrendSignal } from "../../schemas/mod.ts";
import type { TrendsView } from "./view.ts";

/** `group` must be unique per process: every process serving the query edge needs all signals. */
export function trendsFeedActor(view: TrendsView, group: string): ActorBehaviour<TrendsView> {
  return {
    kind: "trends",
    inputs: [
      { filter: "tw.trends.>", group: `${group}-signals`, type: MessageType.TrendSignal, validate: validateTrendSignal, live: true },
      { filter: "tw.agg.>", group: `${group}-windows`, type: MessageType.AggBatch, validate: validateAggBatch, live: true },
    ],
    init: () => view,
    receive(view, input) {
      if (input.kind !== "message") return view;
      if (input.type === MessageType.TrendSignal) {
        view.addSignal((input as MessageInput<TrendSignal>).body);
      } else {
        for (const w of (input as MessageInput<AggBatch>).body.windows) view.addWindow(w);
      }
      return view;
    },
  };
}
