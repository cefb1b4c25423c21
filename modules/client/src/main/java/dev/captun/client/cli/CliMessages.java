package dev.captun.client.cli;

import dev.captun.client.CaptunConnectException;

/** What the CLI tells a user for a refused or failed connect (pure, tested). */
public final class CliMessages {
    private CliMessages() {}

    public static String connectError(CaptunConnectException e, String name, String gateway) {
        String body = e.body() == null ? "" : e.body().strip();
        return switch (e.status()) {
            case 0 -> e.getCause() instanceof dev.captun.protocol.ProtocolException
                    ? "Cannot talk to the gateway: " + e.getMessage() + ". Update captun or the gateway."
                    : "Could not connect to the captun gateway at " + gateway + " (" + e.getMessage() + ").\n"
                            + "Check that the gateway URL is right and reachable from here (network, VPN, proxy, firewall), "
                            + "and that the gateway is running.";
            case 409 -> (name == null ? "The tunnel name" : "The tunnel name \"" + name + "\"") + " is held by another active client: "
                    + "pick another --name or stop the other tunnel.";
            case 401 -> "The gateway rejected the token (401 Unauthorized): this gateway requires its configured token. "
                    + "Pass the right one with --token or `captun config set token <T>`.";
            default -> "The gateway refused the tunnel: " + e.status() + (body.isEmpty() ? "" : " " + body) + "\n"
                    + (e.status() == 429 ? "Too many connects from this address: wait a little and try again."
                    : e.status() >= 500 ? "The gateway has a problem: try again later or contact its operator."
                    : "Check the tunnel name (lower-case letters, digits and dashes), the token and the gateway URL.");
        };
    }
}
