// Calibration of the P2P management twin from kitamura-2018 (JISSJ, "Development of a Server
// Management System Incorporating a Peer-to-Peer Method ..."). Every value names where it is
// printed. Times are seconds (suffix S) as the paper prints them; convert to integer simulated
// microseconds at the edge (sim/kernel/time.ts, sToUs).
//
// Only numbers printed in the paper are here. Anything else is marked as such in its comment.

import type { ServerType } from '../../policies/p2p/placement.ts';

// ---------------------------------------------------------------------------------------------
// Table 3, characteristics (averages of repeated runs, measured with `time`; §4.1)

/** Trs: start time of a management (= target) server. Table 3 labels it Tts; eq. (15) uses Trs. */
export const trsS = 56.67;
/** Trr: restart time of a management server. Table 3 labels it Ttr; eq. (13), (14) use it. */
export const trrS = 58.51;
/** Network examination time when the target's network is normal (Table 3, §4.1). */
export const networkExamS = 0.01;

/** Services of the experimental system (§4.1, Fig. 11). */
export type Service = 'ftp' | 'login' | 'mail' | 'proxy' | 'web';
export const SERVICES: readonly Service[] = ['ftp', 'login', 'mail', 'proxy', 'web'];

/** Tse: service examination time per service (Table 3 prints the range 0.06-1.59; values in §4.1). */
export const tseS: Readonly<Record<Service, number>> = {
  ftp: 0.06,
  login: 0.23,
  mail: 0.36,
  proxy: 0.59,
  web: 1.59,
};

/** Start time of a virtual server from power-off (Table 3, §4.1). */
export const vmColdStartS = 42.84;
/** Tv: time to activate (resume) a suspended virtual server (Table 3, §4.1). */
export const tvS = 4.67;

// ---------------------------------------------------------------------------------------------
// Table 3, setting parameters

/** Tim: inter-monitoring time, the period of the Regular mode's checks (Table 3; §4.3). */
export const timS = 10.0;
/** Tnd: network examination time when the target's network is abnormal (Table 3). */
export const tndS = 2.0;
/** Tsw: longest wait for a service examination; chosen above the largest Tse, 1.59 s (Table 3, §4.1). */
export const tswS = 3.0;
/** Trc: longest time to decide whether the target is restarting; set near 1.5 * Ttr (Table 3, §4.1). */
export const trcS = 88.0;

// ---------------------------------------------------------------------------------------------
// Experiment protocol (§4.2, §4.3)

/** Trouble is injected once this much of the current monitoring interval has elapsed (§4.2, §4.3). */
export const troubleAfterIntervalStartS = 5;
/** The client probes the service once per second (§4.2, §4.3). */
export const clientAccessIntervalS = 1;

/** Server type per service (Fig. 5(b)): login is CPU; FTP, mail, proxy are NETWORK; web is CPU_NET. */
export const serverTypeOfService: Readonly<Record<Service, ServerType>> = {
  login: 'CPU',
  ftp: 'NETWORK',
  mail: 'NETWORK',
  proxy: 'NETWORK',
  web: 'CPU_NET',
};

// ---------------------------------------------------------------------------------------------
// Hardware (Table 3, §4.1)

export const managementServerSpec = {
  /** Six similar machines, each both management and target server (§4.1). */
  cpuModel: 'Core i7-3770 3.40 GHz (Turbo Boost 3.90 GHz)',
  /**
   * NOT printed in the paper, which names only the model: Intel's specification of the
   * i7-3770 is 4 cores / 8 threads. C_cor of eq. (6) is the number of cores, so 4.
   */
  cpuCores: 4,
  /** NOT printed in the paper (Intel specification, see cpuCores). */
  cpuThreads: 8,
  /** 8,192 MB, sized with the start of virtual servers in mind (Table 3, §4.1). */
  memoryMb: 8192,
  disk: 'SATA 2 (7,200 rpm)',
  virtualization: 'KVM 1.5.3',
  os: 'CentOS 7.3 (64-bit)',
  systemSoftware: ['postfix', 'sshd', 'httpd', 'vsftpd', 'squid'],
  /** Servers are linked by a 1000BASE-T switching hub and router (§4.1, Fig. 11). */
  nic: '1000BASE-T',
  /** Rated transfer per direction for 1000 Mbps as §2.5 states it: 128*10^3 KB per second. */
  ratedTransferKbPerS: 128_000,
  /** N_rat, send + receive: 256*10^3 KB (§2.5). */
  ratedTotalKb: 256_000,
} as const;

/** File server 1 holds the management files, programs, logs and VM images (Table 3, §4.1). */
export const fileServer1Spec = {
  cpuModel: 'Core i7-4770 3.40 GHz (Turbo Boost 3.90 GHz)',
  memoryMb: 8192,
  systemSoftware: ['nfsd'],
} as const;

/** Each virtual (backup) server (Table 3, §4.1). */
export const virtualServerSpec = {
  cpus: 1,
  memoryMb: 2048,
  os: 'CentOS 7.3 (64-bit)',
} as const;

/** Client access runs at one tenth of the inter-server speed: 100BASE-TX vs 1000BASE-T (§4.1). */
export const clientLinkToServerLinkRatio = 0.1;

// ---------------------------------------------------------------------------------------------
// Experimental set-ups

export interface ExperimentServer {
  host: string;
  service: Service;
  serverType: ServerType;
}

const server = (host: string, service: Service): ExperimentServer => ({
  host,
  service,
  serverType: serverTypeOfService[service],
});

/**
 * The six servers of the experimental system, in the order §4.1 lists them (Fig. 11). The order
 * of their group file is not printed in the text, so this is a listing, not a ring.
 */
export const sixServerSystem: readonly ExperimentServer[] = [
  server('Mail', 'mail'),
  server('Login', 'login'),
  server('FTP', 'ftp'),
  server('Proxy', 'proxy'),
  server('Web1', 'web'),
  server('Web2', 'web'),
];

/**
 * §4.3 (Fig. 13): four servers, troubles injected on FTP. Memory is pinned with `stress`; we read
 * "set to have 512 MB of memory" as the memory left to the server (what eq. (1) measures).
 * No client access during the runs.
 */
export const oneServerTroubleSetup = {
  servers: [server('Mail', 'mail'), server('FTP', 'ftp'), server('Login', 'login'), server('Web1', 'web')],
  troubledHost: 'FTP',
  memoryUnderStressMb: { Mail: 1024, FTP: 1024, Login: 512, Web1: 1024 } as Readonly<Record<string, number>>,
  clientAccess: false,
} as const;

/**
 * §4.3 (Fig. 14): two servers in trouble at once, FTP and Web1, every pair of St2, Nt1, Nt2
 * (nine combinations). "Same condition as Fig. 13", but the text then pins login AND proxy to
 * 512 MB and the other servers to 1 GB, although proxy is not among the four servers of Fig. 13.
 * Recorded as printed.
 */
export const twoServerTroubleSetup = {
  troubledHosts: ['FTP', 'Web1'],
  troubles: ['St2', 'Nt1', 'Nt2'],
  memoryUnderStressMb: { Login: 512, Proxy: 512, others: 1024 } as Readonly<Record<string, number>>,
} as const;

/**
 * §4.3 (Fig. 15): Nt2 (shutdown) on Mail, Web1 and FTP at once. Login acts with P1 and Web2 with
 * P2. Proxy has 512 MB, Web2 1 GB, Login 2 GB (memory of the troubled three not printed). Login
 * detects Mail's trouble, extends to manage FTP after Tnd, and detects FTP's trouble after another
 * Tnd.
 */
export const threeServerTroubleSetup = {
  troubledHosts: ['Mail', 'Web1', 'FTP'],
  trouble: 'Nt2',
  p1Manager: 'Login',
  p2Manager: 'Web2',
  memoryUnderStressMb: { Proxy: 512, Web2: 1024, Login: 2048 } as Readonly<Record<string, number>>,
} as const;

/** §4.4 (Fig. 16): client load on management server FTP while a virtual server is activated. */
export const clientLoadSetup = {
  loadedHost: 'FTP',
  /** Download and upload over FTP: 50 concurrent transfers of 10^8 bytes each. */
  transferConcurrency: 50,
  transferBytes: 1e8,
  /** CPU load: 50 concurrent jobs of 10^8 random-number operations each. */
  cpuConcurrency: 50,
  cpuOperations: 1e8,
} as const;

// ---------------------------------------------------------------------------------------------
// Fig. 12: the example log (Nt2 on FTP, shutdown 5 s into the interval), wall-clock times

/** Clock readings printed in §4.2 for Fig. 12, "HH:MM:SS(.ss)". */
export const fig12Log = {
  troubleAt: '12:53:45',
  p1DetectsNetworkTrouble: '12:53:52.13',
  p2DetectsNetworkTrouble: '12:53:52.25',
  p1ReexaminationConfirms: '12:53:54.18',
  backgroundJobStarts: '12:53:54.19',
  vmActivationStarts: '12:53:54.43',
  vmActivationDone: '12:53:59.10',
  serverFunctionRecovered: '12:53:59.22',
  clientSeesTrouble: '12:53:45.41',
  clientSeesRecovery: '12:53:59.56',
  targetJudgedStoppedWolSent: '12:55:22.19',
  targetServerRecovered: '12:56:19.96',
  uFileSent: '12:56:19.98',
  p2ReceivesUFile: '12:56:20.07',
  clientStillOkAfterSwitchBack: '12:56:20.78',
} as const;

/** Seconds since midnight of a "HH:MM:SS(.fraction)" clock reading. */
export function clockToS(clock: string): number {
  const m = /^(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(clock);
  if (!m) throw new RangeError(`not a clock reading: "${clock}" (expected HH:MM:SS or HH:MM:SS.ss)`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

// ---------------------------------------------------------------------------------------------
// Analytical times, eq. (10)-(18) (§4.3)

/** The Table 3 times the analysis needs, with Tse of the service under test. */
export interface TimingParams {
  trsS: number;
  trrS: number;
  tseS: number;
  tvS: number;
  timS: number;
  tndS: number;
  tswS: number;
  trcS: number;
}

/** Table 3 values with Tse of the given service (FTP, the target of Fig. 13, by default). */
export function timingFor(service: Service = 'ftp'): TimingParams {
  return { trsS, trrS, tseS: tseS[service], tvS, timS, tndS, tswS, trcS };
}

/** A time known up to ± plusMinusS: the disconnection times depend on where trouble falls in Tim. */
export interface TimeRange {
  centerS: number;
  plusMinusS: number;
}

/** eq. (10) Ts2f = Tsw + Tv: St2, server function back on the virtual server. */
export const ts2fS = (p: TimingParams): number => p.tswS + p.tvS;
/** eq. (11) Tn1f = Tn2f = Tnd + Tv: Nt1/Nt2, server function back on the virtual server. */
export const tn1fS = (p: TimingParams): number => p.tndS + p.tvS;
/** eq. (11), same expression as Tn1f. */
export const tn2fS = tn1fS;
/** eq. (12) Ts1t = Tse: St1, service restarted in place and re-examined. */
export const ts1tS = (p: TimingParams): number => p.tseS;
/** eq. (13) Ts2t = Tsw + Ttr + Tse: St2, target restarted. Ttr is the restart time, our trrS. */
export const ts2tS = (p: TimingParams): number => p.tswS + p.trrS + p.tseS;
/**
 * eq. (14) Tn1t = Trr + Tse - (Tim/2 + Tnd): Nt1, the target was already restarting when the
 * trouble was injected (5 s into the interval, then Tnd of examination), so that time is deducted.
 */
export const tn1tS = (p: TimingParams): number => p.trrS + p.tseS - (p.timS / 2 + p.tndS);
/** eq. (15) Tn2t = Tnd + Trc + Trs + Tse: Nt2, wait Trc for a restart, then WOL and a cold start. */
export const tn2tS = (p: TimingParams): number => p.tndS + p.trcS + p.trsS + p.tseS;
/** eq. (16) Ts1c = Ts1t + Tim/2 ± Tim/2 (Ts1t analytical, per the printed 5.06). */
export const ts1cS = (p: TimingParams): TimeRange => ({ centerS: ts1tS(p) + p.timS / 2, plusMinusS: p.timS / 2 });
/** eq. (17) Ts2c = Ts2f + Tim/2 ± Tim/2. */
export const ts2cS = (p: TimingParams): TimeRange => ({ centerS: ts2fS(p) + p.timS / 2, plusMinusS: p.timS / 2 });
/**
 * eq. (18) Tn1c = Tn2c = Tnd + Tn1f + Tim/2 ± Tim/2. Tn1f already contains Tnd, so Tnd counts
 * twice (the first examination plus the re-examination before the switch). Kept as printed: it
 * reproduces the paper's 13.67 = 2 + 6.67 + 5.
 */
export const tn1cS = (p: TimingParams): TimeRange => ({
  centerS: p.tndS + tn1fS(p) + p.timS / 2,
  plusMinusS: p.timS / 2,
});
/** eq. (18), same expression as Tn1c. */
export const tn2cS = tn1cS;

/** The rows of the Fig. 13 table (St1, St2, Nt1, Nt2 on FTP). St1 has no server-function row. */
export type Fig13Row =
  | 'ts1t' | 'ts2f' | 'ts2t' | 'tn1f' | 'tn1t' | 'tn2f' | 'tn2t'
  | 'ts1c' | 'ts2c' | 'tn1c' | 'tn2c';

export const FIG13_ROWS: readonly Fig13Row[] = [
  'ts1t', 'ts2f', 'ts2t', 'tn1f', 'tn1t', 'tn2f', 'tn2t', 'ts1c', 'ts2c', 'tn1c', 'tn2c',
];

/** All Fig. 13 analytical times from the parameters; ± is 0 for rows without a range. */
export function fig13Analytical(p: TimingParams = timingFor('ftp')): Record<Fig13Row, TimeRange> {
  const exact = (centerS: number): TimeRange => ({ centerS, plusMinusS: 0 });
  return {
    ts1t: exact(ts1tS(p)),
    ts2f: exact(ts2fS(p)),
    ts2t: exact(ts2tS(p)),
    tn1f: exact(tn1fS(p)),
    tn1t: exact(tn1tS(p)),
    tn2f: exact(tn2fS(p)),
    tn2t: exact(tn2tS(p)),
    ts1c: ts1cS(p),
    ts2c: ts2cS(p),
    tn1c: tn1cS(p),
    tn2c: tn2cS(p),
  };
}

/** A value as the paper prints it; null where the paper withholds it ("[held out]"). */
export interface PrintedTime {
  measuredS: number | null;
  analyticalS: number | null;
  /** The ± of the analytical time (Tim/2 for the access disconnection rows), else 0. */
  plusMinusS: number;
  /** Where the numbers are printed. */
  where: string;
}

/**
 * Fig. 13 as printed (§4.3; target FTP, one server in trouble). Every number is printed both in
 * the figure's table and in the §4.3 text, except Ts2c, which appears only in the text (the St2
 * row of the table shows no disconnection cell). None of Fig. 13 is held out.
 */
export const fig13Printed: Readonly<Record<Fig13Row, PrintedTime>> = {
  ts1t: { measuredS: 0.31, analyticalS: 0.06, plusMinusS: 0, where: 'Fig. 13 table; §4.3 after eq. (12)' },
  ts2f: { measuredS: 8.56, analyticalS: 7.67, plusMinusS: 0, where: 'Fig. 13 table; §4.3 after eq. (10)' },
  ts2t: { measuredS: 62.98, analyticalS: 61.57, plusMinusS: 0, where: 'Fig. 13 table; §4.3 after eq. (13)' },
  tn1f: { measuredS: 7.47, analyticalS: 6.67, plusMinusS: 0, where: 'Fig. 13 table; §4.3 after eq. (11)' },
  tn1t: { measuredS: 52.61, analyticalS: 51.57, plusMinusS: 0, where: 'Fig. 13 table; §4.3 after eq. (14)' },
  tn2f: { measuredS: 7.46, analyticalS: 6.67, plusMinusS: 0, where: 'Fig. 13 table; §4.3 after eq. (11)' },
  tn2t: { measuredS: 146.76, analyticalS: 146.73, plusMinusS: 0, where: 'Fig. 13 table; §4.3 after eq. (15)' },
  ts1c: { measuredS: 5.36, analyticalS: 5.06, plusMinusS: 5.0, where: 'Fig. 13 table; §4.3 after eq. (18)' },
  ts2c: { measuredS: 13.24, analyticalS: 12.67, plusMinusS: 5.0, where: '§4.3 text after eq. (18) only' },
  tn1c: { measuredS: 13.73, analyticalS: 13.67, plusMinusS: 5.0, where: 'Fig. 13 table; §4.3 after eq. (18)' },
  tn2c: { measuredS: 14.14, analyticalS: 13.67, plusMinusS: 5.0, where: 'Fig. 13 table; §4.3 after eq. (18)' },
};

// ---------------------------------------------------------------------------------------------
// Everything in one object, for scenario files that take a parameter set.

export const kitamura2018 = {
  trsS,
  trrS,
  networkExamS,
  tseS,
  vmColdStartS,
  tvS,
  timS,
  tndS,
  tswS,
  trcS,
  troubleAfterIntervalStartS,
  clientAccessIntervalS,
  serverTypeOfService,
  managementServerSpec,
  fileServer1Spec,
  virtualServerSpec,
  clientLinkToServerLinkRatio,
  sixServerSystem,
  oneServerTroubleSetup,
  twoServerTroubleSetup,
  threeServerTroubleSetup,
  clientLoadSetup,
  fig12Log,
  fig13Printed,
} as const;
