// VM control on the lab (chen-lo-2015 Figs. 12-13): the lab's VMs with Start / Shut down next to
// each, a form that creates one from a template (name, vCPUs, memory), and Modify / Delete for the
// VMs created here. The server decides (web/server/vms.ts, the rule of engine/ports/hypervisor.ts);
// the buttons are only enabled where that rule would allow them, and a refusal is shown as is.
import { api } from '../api.ts';
import type { LabVm } from '../../shared/api.ts';

const STOPPED = new Set(['defined', 'stopped', 'crashed']);

export class VmControlView {
  private vms: LabVm[] = [];
  private busy = new Map<string, string>();
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
      void this.act(name, 'creating', `create ${name}`, async () => {
        const vm = await api.createVm(req);
        this.say(`created ${vm.name}: ${vm.cpus} vCPU, ${vm.memoryMb} MiB, from ${vm.template}`);
      });
    });
  }

  /** Reloads the list (the lab may have changed under us: hatwin vm, a policy). */
  async refresh(): Promise<void> {
    const r = await this.attempt('VM list', () => api.labVms());
    if (!r) return;
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
      actions.append(
        button('▶ Start', 'start', STOPPED.has(vm.state), async () => void (await api.vmAction(vm.name, 'start')), 'starting'),
        button('■ Shut down', 'shutdown', vm.state === 'running', async () => void (await api.vmAction(vm.name, 'shutdown')), 'shutting down'),
        button('Modify', 'modify', created && STOPPED.has(vm.state), async () => void (await api.modifyVm(vm.name, { cpus: Number(cpus.value), memoryMb: Number(mem.value) })), 'modifying'),
        button('✕ Delete', 'delete', created && STOPPED.has(vm.state), async () => void (await api.deleteVm(vm.name)), 'deleting'),
      );
      const cpuCell = document.createElement('td');
      cpuCell.append(cpus);
      const memCell = document.createElement('td');
      memCell.append(mem);
      tr.append(cell(vm.name, 'name'), cell(busy ? `${busy}…` : vm.state, `state s-${vm.state}`), cpuCell, memCell, cell(`${created ? `created from ${vm.template}` : 'lab file'}${vm.address ? ` · ${vm.address}` : ''}`), actions);
      return tr;
    });
    this.table.replaceChildren(...rows);
  }
}
