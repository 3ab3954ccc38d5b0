// VM control (chen-lo-2015 Figs. 12-13) on the lab's libvirt or in the followed sim run's world:
// the VMs with Start / Shut down next to each, a form that creates one from a template (name,
// vCPUs, memory), and Modify / Delete for the VMs created here. The server decides
// (web/server/vms.ts, the rule of engine/ports/hypervisor.ts); the buttons are only enabled where
// that rule would allow them, and a refusal is shown as the server words it.
import { api } from '../api.ts';
import type { LabVm, LabVms } from '../../shared/api.ts';

/** Where the panel acts: the lab (/api/lab/vms) or a sim run (/api/runs/:id/vms). */
export interface VmBackend {
  /** Stable key: a change of world resets the panel. */
  key: string;
  /** Shown in the panel's title. */
  label: string;
  list(): Promise<LabVms>;
  create(req: { name: string; cpus: number; memoryMb: number; template?: string }): Promise<LabVm>;
  action(name: string, op: 'start' | 'shutdown'): Promise<unknown>;
  modify(name: string, change: { cpus?: number; memoryMb?: number }): Promise<unknown>;
  remove(name: string): Promise<unknown>;
}

export function labBackend(lab: string): VmBackend {
  return {
    key: `lab:${lab}`, label: `lab ${lab} (libvirt)`, list: () => api.labVms(), create: (r) => api.createVm(r),
    action: (n, op) => api.vmAction(n, op), modify: (n, c) => api.modifyVm(n, c), remove: (n) => api.deleteVm(n),
  };
}

export function runBackend(id: string): VmBackend {
  return {
    key: `run:${id}`, label: `sim run ${id} (its world, at its simulated time)`, list: () => api.runVms(id),
    create: async (r) => (await api.createRunVm(id, r)).vm, action: (n, op) => api.runVmAction(id, n, op),
    modify: (n, c) => api.modifyRunVm(id, n, c), remove: (n) => api.deleteRunVm(id, n),
  };
}

const STOPPED = new Set(['defined', 'stopped', 'crashed']);

export class VmControlView {
  private vms: LabVm[] = [];
  private busy = new Map<string, string>();
  private backend: VmBackend | null = null;
  private readonly table: HTMLTableSectionElement;
  private readonly template: HTMLSelectElement;

  constructor(
    readonly panel: HTMLElement,
    private readonly attempt: <T>(what: string, fn: () => Promise<T>) => Promise<T | undefined>,
    private readonly say: (text: string) => void,
  ) {
    this.table = panel.querySelector('tbody')!;
    this.template = panel.querySelector<HTMLSelectElement>('#vm-template')!;
    const form = panel.querySelector<HTMLFormElement>('#vm-create')!;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const value = (id: string) => panel.querySelector<HTMLInputElement>(id)!.value.trim();
      const name = value('#vm-name');
      const req = { name, cpus: Number(value('#vm-cpus')), memoryMb: Number(value('#vm-memory')), ...(this.template.value ? { template: this.template.value } : {}) };
      const b = this.backend;
      if (!b) return;
      void this.act(name, 'creating', `create ${name}`, async () => {
        const vm = await b.create(req);
        this.say(`created ${vm.name}: ${vm.cpus} vCPU, ${vm.memoryMb} MiB, from ${vm.template}`);
      });
    });
  }

  /** Acts on another world (or none): the list is emptied and read again. */
  use(b: VmBackend | null): void {
    if (b?.key === this.backend?.key) return;
    this.backend = b;
    this.vms = [];
    this.busy.clear();
    this.note('', 'info');
    this.panel.querySelector<HTMLElement>('#vm-where')!.textContent = b ? `— ${b.label}` : '';
    this.render();
    if (b) void this.refresh();
  }

  /** Reloads the list (the world may have changed under us: hatwin vm, a policy, the run's time). */
  async refresh(): Promise<void> {
    const b = this.backend;
    if (!b) return;
    const r = await this.attempt('VM list', () => b.list());
    if (!r || b !== this.backend) return;
    this.vms = r.vms;
    const known = [...this.template.options].map((o) => o.value).join(',');
    if (known !== r.templates.join(',')) this.template.replaceChildren(...r.templates.map((t) => new Option(t, t)));
    this.render();
  }

  /** The panel's own line: the last operation's outcome (a refusal in red, as the server words it). */
  private note(text: string, kind: 'info' | 'error'): void {
    const line = this.panel.querySelector<HTMLElement>('#vm-message')!;
    line.textContent = text;
    line.dataset.kind = kind;
  }

  private async act(name: string, doing: string, what: string, fn: () => Promise<void>): Promise<void> {
    this.busy.set(name, doing);
    this.render();
    try {
      await this.attempt(what, async () => {
        try {
          await fn();
          this.note(`${what}: done`, 'info');
        } catch (e) {
          this.note(`${what}: ${(e as Error).message}`, 'error');
          throw e;
        }
      });
    } finally {
      this.busy.delete(name);
      await this.refresh();
    }
  }

  private render(): void {
    const rows = this.vms.map((vm) => {
      const tr = document.createElement('tr');
      tr.dataset.vm = vm.name;
      tr.dataset.state = vm.state;
      const busy = this.busy.get(vm.name);
      const created = vm.origin === 'created';
      const cell = (text: string, cls?: string) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        return td;
      };
      const button = (label: string, action: string, enabled: boolean, run: () => Promise<void>, doing: string) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = label;
        b.dataset.action = action;
        b.disabled = busy !== undefined || !enabled;
        b.addEventListener('click', () => void this.act(vm.name, doing, `${action} ${vm.name}`, run));
        return b;
      };
      const num = (value: number, label: string, cls: string) => {
        const i = document.createElement('input');
        i.type = 'number';
        i.min = '1';
        i.value = String(value);
        i.className = cls;
        i.setAttribute('aria-label', `${label} of ${vm.name}`);
        i.disabled = !created || busy !== undefined;
        return i;
      };
      const cpus = num(vm.cpus, 'vCPUs', 'cpus');
      const mem = num(vm.memoryMb, 'memory MiB', 'memory');
      const actions = document.createElement('td');
      actions.className = 'actions';
      const b = this.backend!;
      actions.append(
        button('▶ Start', 'start', STOPPED.has(vm.state), async () => void (await b.action(vm.name, 'start')), 'starting'),
        button('■ Shut down', 'shutdown', vm.state === 'running', async () => void (await b.action(vm.name, 'shutdown')), 'shutting down'),
        button('Modify', 'modify', created && STOPPED.has(vm.state), async () => void (await b.modify(vm.name, { cpus: Number(cpus.value), memoryMb: Number(mem.value) })), 'modifying'),
        button('✕ Delete', 'delete', created && STOPPED.has(vm.state), async () => void (await b.remove(vm.name)), 'deleting'),
      );
      const cpuCell = document.createElement('td');
      cpuCell.append(cpus);
      const memCell = document.createElement('td');
      memCell.append(mem);
      tr.append(cell(vm.name, 'name'), cell(busy ? `${busy}…` : vm.state, `state s-${vm.state}`), cpuCell, memCell, cell(`${created ? `created from ${vm.template}` : b.key.startsWith('run:') ? 'scenario' : 'lab file'}${vm.address ? ` · ${vm.address}` : ''}`), actions);
      return tr;
    });
    this.table.replaceChildren(...rows);
  }
}
