/**
 * The console's words: the chain's codes (roles, states, motion actions, payment reasons, policy
 * lines, error codes) in Danish. Unknown codes are shown as they are (escaped), never dropped.
 */

export const ROLE_DA: Record<string, string> = {
  caseworker: 'sagsbehandler',
  'centre-chief': 'centerchef',
  director: 'direktør',
  'provider-representative': 'leverandørrepræsentant',
  auditor: 'revisor',
};
const ROLE_PLURAL_DA: Record<string, string> = {
  caseworker: 'sagsbehandlere',
  'centre-chief': 'centerchefer',
  director: 'direktører',
  'provider-representative': 'leverandørrepræsentanter',
};

export const STATUS_DA: Record<string, string> = {
  draft: 'kladde',
  active: 'aktiv',
  suspended: 'sat i bero',
  terminated: 'ophørt',
  expired: 'udløbet',
  open: 'åben',
  executed: 'gennemført',
};

export const ACTION_DA: Record<string, string> = {
  activate: 'aktivering',
  amend: 'ændring',
  suspend: 'berostillelse',
  resume: 'genoptagelse',
  terminate: 'opsigelse',
};

export const REASON_DA: Record<string, string> = {
  'report-missing': 'statusrapport mangler',
  'report-received': 'statusrapport modtaget',
  suspended: 'kontrakten er sat i bero',
  'parent-not-active': 'hovedkontrakten er ikke aktiv',
};

export const REPORT_DA: Record<string, string> = {
  received: 'modtaget',
  overdue: 'forsinket',
  upcoming: 'kommende',
};

export const word = (table: Record<string, string>, code: unknown): string =>
  typeof code === 'string' ? (table[code] ?? code) : '';

/**
 * A policy line from the chain ("1 centre-chief or 1 director (municipality)") in Danish
 * ("1 centerchef eller 1 direktør (kommunen)"). Word by word: the chain's grammar is small
 * (policy-text.ts) and every word of it is listed here.
 */
export function policyDa(line: string): string {
  return line
    .replace(/\b(\d+) ([a-z-]+)/g, (m, n: string, role: string) => {
      if (ROLE_DA[role]) return `${n} ${ROLE_DA[role]}`;
      const singular = role.endsWith('s') ? role.slice(0, -1) : '';
      return ROLE_PLURAL_DA[singular] ? `${n} ${ROLE_PLURAL_DA[singular]}` : m;
    })
    .replace(/\(municipality\)/g, '(kommunen)')
    .replace(/\(provider\)/g, '(leverandøren)')
    .replace(/\bat least (\d+) of\b/g, 'mindst $1 af')
    .replace(/ or /g, ' eller ')
    .replace(/ and /g, ' og ');
}

/** Kroner from øre, Danish style: 45.000,00 kr. */
export const kroner = (oere: unknown): string =>
  typeof oere === 'number'
    ? `${(oere / 100).toLocaleString('da-DK', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} kr.`
    : '';

/** An error code (the gateway's or the chain's) as a sentence for the person at the screen. */
export const ERROR_DA: Record<string, string> = {
  ROLE_NOT_PERMITTED: 'Du har ikke en rettighed, der tillader denne handling.',
  ROLE_REQUIRED: 'Vælg hvilken rolle du handler i.',
  KLE_NOT_PERMITTED: 'Dine rettigheder dækker ikke sagens KLE-emne.',
  NOT_PARTY_TO_CONTRACT: 'Din organisation er ikke part i denne kontrakt.',
  APPROVAL_EXISTS: 'Du har allerede godkendt dette forslag.',
  APPROVAL_NOT_ALLOWED: 'Din rolle kan ikke godkende dette forslag.',
  APPROVAL_EXPIRED: 'Forslaget er udløbet.',
  CONTRACT_NOT_FOUND: 'Kontrakten findes ikke.',
  CONTRACT_STATE: 'Kontraktens tilstand tillader ikke handlingen.',
  MOTION_NOT_FOUND: 'Forslaget findes ikke på kontrakten.',
  TEMPLATE_NOT_FOUND: 'Skabelonen findes ikke i din kommune.',
  PARTY_NOT_FOUND: 'Leverandøren er ikke registreret.',
  PII_REJECTED: 'Feltet ligner personoplysninger (fx et CPR-nummer) og må ikke sendes.',
  TX_PAYLOAD_INVALID: 'Oplysningerne er ugyldige.',
  NO_SUBMITTER_KEY: 'Gatewayen har ingen nøgle for din organisation.',
  NODE_UNAVAILABLE: 'Netværket kan ikke nås lige nu. Prøv igen om lidt.',
  FINALITY_TIMEOUT: 'Handlingen er sendt, men endnu ikke endeligt registreret. Se sagen igen om lidt.',
  FORM_INVALID: 'Formularen er ikke udfyldt korrekt.',
  CSRF: 'Formularen er udløbet eller kom ikke fra konsollen. Indlæs siden og prøv igen.',
  LOGIN_REQUIRED: 'Du skal logge ind.',
  LOGIN_FAILED: 'Login mislykkedes.',
  CASE_NOT_YOURS: 'Sagen er ikke din eller et barns, du har forældremyndighed over.',
  CASE_NUMBER_INVALID: 'Et sagsnummer er 1-40 tegn: bogstaver, tal og . / _ - og ligner ikke et CPR-nummer.',
  DOCUMENT_STORE_FAILED: 'Dokumentlageret fejlede. Prøv igen.',
  DOCUMENT_FORBIDDEN: 'Du må ikke se eller sende dette dokument.',
  BODY_TOO_LARGE: 'Filen eller formularen er for stor.',
  UNSUPPORTED_MEDIA_TYPE: 'Formularen kom i et format, konsollen ikke tager imod.',
  NOT_FOUND: 'Siden findes ikke.',
  INTERNAL: 'Der skete en fejl i gatewayen. Prøv igen.',
};
