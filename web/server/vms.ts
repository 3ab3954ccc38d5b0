// VM control over the web API (chen-lo-2015 Figs. 12-13) on the lab of `hatwin serve --lab`:
// list, create from a template, start, shut down, modify, delete the lab's libvirt guests
// (adapters/lab/hypervisor.ts LabVmControl: the same rule as `hatwin vm` and the sim). State-
// changing calls need the bearer token unless the server is on loopback (access.ts, for all of
// /api). A refusal is a 4xx with the rule's message: 400 a bad name or request, 404 an unknown VM
// or template, 409 a state or origin that does not allow it, 422 more than the machine has.
import type express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { LabVmControl } from '../../adapters/lab/hypervisor.ts';
import { ensureLibvirt, type GuestImage } from '../../adapters/lab/libvirt.ts';
import { buildGuestImage } from '../../adapters/lab/lab.ts';
import { VmControlError, type VmControlErrorCode } from '../../engine/ports/hypervisor.ts';
import type { LabWatch } from './live.ts';
import type { Run } from './runs.ts';
import { SimVmControl } from '../../adapters/sim/vm-control.ts';

const STATUS: Record<VmControlErrorCode, number> = {
  'bad-name': 400, 'bad-request': 400, 'unknown-vm': 404, 'unknown-template': 404, exists: 409, 'bad-state': 409, declared: 409, 'no-room': 422, failed: 502,
};

const resources = { cpus: z.number().int().min(1).max(1024), memoryMb: z.number().int().min(1).max(1_048_576) };
export const createVmSchema = z.object({ name: z.string().max(200), ...resources, template: z.string().max(200).optional() }).strict();
const createSimVmSchema = createVmSchema.extend({ host: z.string().max(200).optional() }).strict();
export const modifyVmSchema = z.object({ cpus: resources.cpus.optional(), memoryMb: resources.memoryMb.optional() }).strict();

export interface VmRoutesOptions {
  lab: () => LabWatch;
  /** An HTTP error for the caller (the app's own class). */
  httpError: (status: number, message: string) => Error;
  /** The run a request names (404 otherwise). */
  run: (req: Request) => Run;
}

/** Registers /api/lab/vms (the lab's libvirt) and /api/runs/:id/vms (a sim run's world) routes. */
export function vmRoutes(app: express.Express, o: VmRoutesOptions): void {
  let control: Promise<LabVmControl> | null = null;
  // The guest image is built (or found up to date) on the first create or modify, not for a list.
  let image: Promise<GuestImage> | null = null;
  const imageOnce = (): Promise<GuestImage> => {
    image ??= buildGuestImage();
    image.catch(() => (image = null));
    return image;
  };
  /** Why VM control cannot act on the lab now, or null. */
  const unavailable = (w: LabWatch): string | null => {
    if (!w.up) return `lab ${w.lab.name} is down: bring it up (hatwin lab up) before controlling its VMs`;
    if (process.getuid?.() !== 0) return 'VM control drives libvirt as root: run hatwin serve --lab as root';
    return null;
  };
  const vc = async (): Promise<LabVmControl> => {
    const w = o.lab();
    const why = unavailable(w);
    if (why) throw o.httpError(409, why);
    control ??= (async () => {
      await ensureLibvirt();
      return new LabVmControl(w.lab, imageOnce);
    })();
    control.catch(() => (control = null));
    return control;
  };
  const refusal = (e: unknown): never => {
    if (e instanceof VmControlError) throw o.httpError(STATUS[e.code], e.message);
    throw e;
  };
  const bad = (issues: z.ZodIssue[], what: string) => o.httpError(400, `${what}: ${issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  const name = (req: Request) => String(req.params.name);
  const after = async (res: Response, c: LabVmControl, vm: string, status = 200) => {
    const info = (await c.list()).find((v) => v.name === vm) ?? null;
    res.status(status).json(info);
  };

  // A lab that is down (or a server that is not root) has no VMs to list: 200 with none and why.
  app.get('/api/lab/vms', async (_req, res) => {
    const w = o.lab();
    const why = unavailable(w);
    if (why) {
      res.json({ vms: [], templates: w.lab.backupVms.map((v) => v.name), unavailable: why });
      return;
    }
    const c = await vc();
    res.json({ vms: await c.list(), templates: c.templates() });
  });

  app.post('/api/lab/vms', async (req, res) => {
    const p = createVmSchema.safeParse(req.body ?? {});
    if (!p.success) throw bad(p.error.issues, 'bad VM request');
    const c = await vc();
    const info = await Promise.resolve(c.create(p.data)).catch(refusal);
    res.status(201).json(info);
  });

  app.post('/api/lab/vms/:name/start', async (req, res) => {
    const c = await vc();
    await Promise.resolve(c.start(name(req))).catch(refusal);
    await after(res, c, name(req));
  });

  app.post('/api/lab/vms/:name/shutdown', async (req, res) => {
    const c = await vc();
    await Promise.resolve(c.shutdown(name(req))).catch(refusal);
    await after(res, c, name(req));
  });

  app.patch('/api/lab/vms/:name', async (req, res) => {
    const p = modifyVmSchema.safeParse(req.body ?? {});
    if (!p.success) throw bad(p.error.issues, 'bad modify request');
    const c = await vc();
    res.json(await Promise.resolve(c.modify(name(req), p.data)).catch(refusal));
  });

  app.delete('/api/lab/vms/:name', async (req, res) => {
    const c = await vc();
    await Promise.resolve(c.delete(name(req))).catch(refusal);
    res.json({ deleted: name(req) });
  });

  // A sim run's world: the same operations, done at the run's current simulated time. Start and
  // shut down take simulated time: the answer (202) says when they began; the run's trace says
  // when they end (vm.state).
  const simControls = new WeakMap<Run, SimVmControl>();
  const onRun = <T>(req: Request, what: string, act: (c: SimVmControl) => T) => {
    const r = o.run(req);
    try {
      return r.actOnWorld(what, (sim) => {
        let c = simControls.get(r);
        if (!c) simControls.set(r, (c = new SimVmControl(sim.world)));
        return act(c);
      });
    } catch (e) {
      return refusal(e);
    }
  };
  const now = <T>(v: T | PromiseLike<T>): T | undefined => {
    let out: T | undefined;
    if (v && typeof (v as PromiseLike<T>).then === 'function') (v as PromiseLike<T>).then((x) => (out = x), () => undefined);
    else out = v as T;
    return out;
  };

  app.get('/api/runs/:id/vms', (req, res) => {
    const r = o.run(req);
    const sim = r.sim;
    if (!sim) throw o.httpError(409, `run ${r.id} is not a sim run: VM control on a live lab is /api/lab/vms`);
    let c = simControls.get(r);
    if (!c) simControls.set(r, (c = new SimVmControl(sim.world)));
    res.json({ nowUs: sim.kernel.nowUs(), vms: c.list(), templates: c.templates() });
  });

  app.post('/api/runs/:id/vms', (req, res) => {
    const p = createSimVmSchema.safeParse(req.body ?? {});
    if (!p.success) throw bad(p.error.issues, 'bad VM request');
    const { atUs, value } = onRun(req, 'take VM control', (c) => now(c.create(p.data)));
    res.status(201).json({ atUs, vm: value });
  });

  for (const op of ['start', 'shutdown'] as const) {
    app.post(`/api/runs/:id/vms/:name/${op}`, (req, res) => {
      const { atUs } = onRun(req, 'take VM control', (c) => void c[op](name(req)));
      res.status(202).json({ atUs, vm: simControls.get(o.run(req))!.list().find((v) => v.name === name(req)) ?? null });
    });
  }

  app.patch('/api/runs/:id/vms/:name', (req, res) => {
    const p = modifyVmSchema.safeParse(req.body ?? {});
    if (!p.success) throw bad(p.error.issues, 'bad modify request');
    const { atUs, value } = onRun(req, 'take VM control', (c) => now(c.modify(name(req), p.data)));
    res.json({ atUs, vm: value });
  });

  app.delete('/api/runs/:id/vms/:name', (req, res) => {
    const { atUs } = onRun(req, 'take VM control', (c) => now(c.delete(name(req))));
    res.json({ atUs, deleted: name(req) });
  });
}
