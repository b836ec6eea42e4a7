/**
 * ECS task scale-in protection through the ECS agent's endpoint
 * (`PUT $ECS_AGENT_URI/task-protection/v1/state`): while a task works on a video, the service's
 * queue-depth scaling may not stop it (scaling in picks unprotected tasks). Outside ECS
 * (`ECS_AGENT_URI` unset) every call is a no-op. Failures are reported, never fatal: an unprotected
 * task that is stopped still gives its message back on SIGTERM.
 *
 * @example
 * ```ts
 * const protection = EcsTaskProtection.fromEnv(process.env);
 * await protection.set(true, 120); // protected for up to 120 minutes
 * await protection.set(false);
 * ```
 */

export interface TaskProtection {
  /** True when calls reach an ECS agent (false: no-op outside ECS). */
  readonly active: boolean;
  /** Turn protection on (for at most `expiresInMinutes`, 1-2880) or off. */
  set(enabled: boolean, expiresInMinutes?: number): Promise<void>;
}

/** ECS caps a protection at 48 hours. */
export const MAX_PROTECTION_MINUTES = 2880;

export class EcsTaskProtection implements TaskProtection {
  readonly active: boolean;
  readonly #url: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(agentUri: string | undefined, o: { fetch?: typeof fetch; timeoutMs?: number } = {}) {
    const base = agentUri?.trim().replace(/\/+$/, '');
    this.#url = base ? `${base}/task-protection/v1/state` : undefined;
    this.active = this.#url !== undefined;
    this.#fetch = o.fetch ?? fetch;
    this.#timeoutMs = o.timeoutMs ?? 5000;
  }

  static fromEnv(env: Record<string, string | undefined>, o: { fetch?: typeof fetch; timeoutMs?: number } = {}): EcsTaskProtection {
    return new EcsTaskProtection(env.ECS_AGENT_URI, o);
  }

  async set(enabled: boolean, expiresInMinutes?: number): Promise<void> {
    if (!this.#url) return;
    const body: Record<string, unknown> = { ProtectionEnabled: enabled };
    if (enabled && expiresInMinutes !== undefined) body.ExpiresInMinutes = Math.min(MAX_PROTECTION_MINUTES, Math.max(1, Math.ceil(expiresInMinutes)));
    const res = await this.#fetch(this.#url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await res.text();
    // The agent answers 200 with {"failure": {...}} when ECS refused the change.
    let failure: { Reason?: string; Detail?: string } | undefined;
    try {
      failure = (JSON.parse(text) as { failure?: { Reason?: string; Detail?: string } }).failure;
    } catch {
      failure = undefined;
    }
    if (!res.ok || failure) {
      throw new Error(`ECS task protection ${enabled ? 'on' : 'off'} failed: HTTP ${res.status}${failure ? ` ${failure.Reason ?? ''} ${failure.Detail ?? ''}`.trimEnd() : ''}`);
    }
  }
}
