"""What wires a client and a server together: the simulator, the chaos proxy, the demo and
seed-demo. It may import both sides; nothing imports it but the console script."""
