/**
 * Usage texts of the `tillid` commands, apart from the commands themselves so that printing help
 * (or a usage error) loads none of them.
 */
export const USAGE = `usage: tillid <command>

  keys generate --out <file> [--passphrase-file <file> | --plaintext] [--data-dir <dir>]
                                         a new Ed25519 key, encrypted under the passphrase in the file;
                                         --data-dir: its node's data directory gets the key's empty
                                         signed-vote log (a key that never signed; without it the
                                         node takes its log as lost and waits before it signs)
  keys provision-log --data-dir <empty dir> [--unless-used]
                                         state that the key of the node using this (empty) data
                                         directory has never signed: writes its empty signed-vote log
                                         (a new network on fresh volumes); refuses a used directory
                                         (--unless-used: leaves it alone, exit 0)
  keys encrypt --key <plaintext file> --out <file> [--passphrase-file <file>]
                                         encrypt an old plaintext key file (same key)
  keys hsm-generate --hsm <hsm.json> [--data-dir <dir>]
                                         a new key inside an HSM (PKCS#11); prints its public key
  keys hsm-import --key <file> --hsm <hsm.json> [--passphrase-file <file>]
                                         move an existing key into an HSM
      hsm.json: { "hsm": { "module": "/usr/lib/softhsm/libsofthsm2.so", "token": "<label>",
                  "keyLabel": "<label>", "pinFile": "<file>" } }; --key takes it too.
      Passphrases and PINs come from files, never argv: --passphrase-file, else the file named by
      TILLID_PASSPHRASE_FILE, else /run/secrets/tillid-key-passphrase.
  network init [--out <dir>] [--chain-id <id>] [--municipalities <file.json> | --municipality "Name:CVR[:publicKey]" ...]
               [--member "Name=host[:p2pPort]" ...] [--hsm "Name=hsm.json" ...] [--host <host>] [--api-host <bind address>]
               [--base-port 7101] [--block-interval-ms 500] [--business-days-per-block <n>]
                                         a genesis plus one node config per municipality. One host for all
                                         (--host, default 127.0.0.1): ports base-port+i (API) and +100+i (p2p).
                                         Separate hosts (--member per municipality, or "host" in the file):
                                         every node on API 7101 / p2p 7201, announcing only its own host,
                                         API bound to --api-host (default 0.0.0.0 then; put it behind TLS).
                                         --hsm: that municipality's key is in the HSM (keys hsm-generate);
                                         its config names the hsm, no key file
  network join --genesis <file> --from <member API url> --name <name> --cvr <cvr> --host <address others reach>
               [--out .] [--key <out>/key.json] [--data-dir data] [--p2p-port 7201] [--api-host 127.0.0.1]
               [--api-port 7101] [--tls-cert <pem> --tls-key <pem>] [--passphrase-file <file> | --hsm <hsm.json>]
               [--block-interval-ms <ms> --empty-block-interval-ms <ms>]
                                         a joining member's config.json and genesis.json from the genesis and
                                         the running network (peers: the authorities' on-chain addresses;
                                         block pacing: the member's, unless the flags say otherwise;
                                         announces --host); refuses a network with another genesis hash;
                                         generates the key (encrypted) if there is none, or uses the HSM's
                                         (--hsm: the config names it); prints the proposal to vote on
  network up [--dir .tillid/local]       start every node of a network directory (creating a dev network if empty)
  node start --config <file>             run one node
  node backup --genesis <file> (--api <url> | --data-dir <dir>) --out <file>
                                         the node's finalized blocks to a file (a running node: --api)
  node restore --genesis <file> --from <backup> --data-dir <dir without a store>
                                         replay and verify a backup into a new store; then start the node
  genesis hash --genesis <file>          the genesis hash to compare in the key ceremony
  tx send --key <file> [--passphrase-file <file>] (--hash <hex> | --document <file>) [--doc-type <code>] [--ref <ref>] [--api <url>] [--wait]
                                         sign and submit an anchor
  chain verify --genesis <file> (--data-dir <dir> | --api <url>) [--expect-height <h> [--expect-hash <hex>]]
                                         replay and check every block from the genesis
  proof verify --genesis <file> --file <read.json>
                                         check a read saved with ?proof=true, offline, against the genesis
  authority propose --key <file> --action add|remove --name <name> --cvr <cvr> --public-key <hex> [--address <multiaddr>] [--api <url>] [--wait]
                                         propose adding or removing an authority (an authority's key)
  authority vote --key <file> --proposal <id> [--api <url>] [--wait]
                                         vote for a membership proposal
  authority rotate --key <current key file> --new-key <new key file or hsm.json> [--new-passphrase-file <file>] [--api <url>] [--wait]
                                         replace this authority's key (effective two blocks later); then
                                         restart the node with the new key file
  party register|add-key|revoke-key ...  parties (municipalities, providers) and their keys: tillid party --help
  contract template|create|propose|cosign|approve|report|show|list ...
                                         contracts: tillid contract --help

  --ca <file>                            with any --api https://…: trust the node API's CA (PEM)
  <command> --help                       usage of one command group
  --version                              the software release and protocol version (deploy/UPGRADES.md)`;

export const CONTRACT_USAGE = `usage: tillid contract <command>

Signing commands take --key <file> --party <cvr> --role <role> --actor <64 hex> [--api <url>] [--wait]:
the key must be registered for the party in that role; the actor is a pseudonymous id, never a name.

  contract template --code <code> [--policies <file.json>] [--approval-lifetime-days 30] [--no-release-withheld]
                                  define a template (a municipal director); default policies: the
                                  pilot's (caseworkers of both parties activate or terminate; one
                                  director or two centre chiefs amend, suspend or resume)
  contract create --template <cvr>/<code> --provider <cvr> --start YYYY-MM-DD --item <code>:<øre a month>[:until] ...
                  --report-every-months <n> [--months <n>] [--parent <id> --on-parent-end terminate|suspend]
                  [--kle <code>] [--document <hex>]
                                  draft a contract; its id is the printed hash
  contract propose --contract <id> --action activate|amend|suspend|resume|terminate [--changes <file.json>]
                   [--reason <code>] [--document <hex>] [--draft-out <file> | --draft <file> --cosignature <file> ...]
                                  propose a motion; its id is the printed hash. --draft-out writes the
                                  motion for co-signers instead of sending it; --draft with their
                                  co-signatures sends it, approved by all of them in one transaction
  contract cosign --draft <file> [--out <file>]
                                  co-sign a drafted motion offline (nothing is sent)
  contract approve --motion <id>  approve an open motion
  contract report --contract <id> --period <n> (--document <hex> | --file <path>)
                                  record a status report (a provider); with --file the document is
                                  committed with a fresh salt, printed for the off-chain store
  contract show --id <id> [--api <url>]       a contract: terms, timeline, motions, payments, reports
  contract list --party <cvr> [--api <url>]   the contracts a party is on`;

export const PARTY_USAGE = `usage: tillid party <command>

  party register --key <file> --cvr <cvr> --kind municipality|provider --grant <publicKey>:<role,...>[:admin] ...
                 [--api <url>] [--wait]      register a municipality (authority key) or a provider (municipal admin key)
  party add-key --key <file> --cvr <cvr> --grant <publicKey>:<role,...>[:admin] [--api <url>] [--wait]
                                             add a key to a party (its admin key, or its registrar's)
  party revoke-key --key <file> --cvr <cvr> --public-key <hex> [--api <url>] [--wait]
                                             revoke a key for good

  --grant: a public key, the roles it may act in (caseworker, centre-chief, director,
  provider-representative; empty for none) and ':admin' if it may manage keys, e.g.
  --grant 3b6a...e1:caseworker,director   or   --grant 9f00...12::admin`;

/** Groups with their own usage text; the rest share USAGE. */
const GROUP_USAGE: Record<string, string> = { contract: CONTRACT_USAGE, party: PARTY_USAGE };
export const usageOf = (group: string | undefined): string => (group && GROUP_USAGE[group]) || USAGE;
