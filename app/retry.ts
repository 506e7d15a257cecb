/**
 * Start-up steps that talk to NATS retry for a while: a server (or JetStream, recovering its
 * streams after a restart) may not answer yet. Configuration and credential errors fail at
 * once; main.ts bounds the whole start-up with a deadline.
 */
import type { Logger } from "../runtime/core/log.ts";
import { ConfigError } from "../runtime/core/errors.ts";

export async function retrying<T>(what: string, step: () => Promise<T>, log: Logger, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      const permanent = err instanceof ConfigError || (err as Error)?.name === "NatsAuthError" || (err as Error)?.name === "NatsPermissionError";
      if (permanent || attempt >= attempts) throw err;
      log.warn(`${what} failed; retrying`, { attempt, err });
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}
