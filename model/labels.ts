/**
 * The labels the kit puts on what it creates on a Docker engine. Both drivers (the Pulumi stacks
 * and the local driver) and the tests that look things up by label read them here, so a label is
 * written down exactly once.
 */

/** Label put on every container, network and volume the kit creates, for teardown by label. */
export const KIT_LABEL = "io.realtime-kit.deployment";
/** On every service's container: its name in the plan (`realtime-2`), for finding it by label whatever driver made it. */
export const SERVICE_LABEL = "io.realtime-kit.service";
/** On a seed container (created to fill a service's volume, never started): the service it fills. */
export const SEED_LABEL = "io.realtime-kit.seed-for";

/**
 * Marks what the local driver (`up`, the integration tests) created, beside KIT_LABEL=<run id>,
 * so `down --all` removes every local run and nothing else that carries the kit's label.
 */
export const DRIVER_LABEL = "io.realtime-kit.driver";
/** DRIVER_LABEL's value on local runs; it still says "harness" so that `down` finds runs made before the driver had its own folder. */
export const LOCAL_DRIVER = "harness";

/** Label beside KIT_LABEL on the local driver's runs: the topology, for people reading `docker ps`. */
export const TOPOLOGY_LABEL = "io.realtime-kit.topology";
