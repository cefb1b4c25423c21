package dev.captun.client.cli;

import dev.captun.client.CaptunConnectException;
import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelEvent;
import dev.captun.client.inspect.Inspector;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** The {@code captun} command. */
public final class CaptunCli {
    private CaptunCli() {}

    public static void main(String[] argv) {
        // before any logger exists: keep the CLI quiet unless asked (CAPTUN_LOG_LEVEL=debug)
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "captun-cli-logback.xml");
        }
        // colour only for a person at a terminal, never in a pipe or a log file
        System.exit(run(argv, System.getenv(), System.console() != null, System.out, System.err));
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        return run(argv, System.getenv(), false, out, err);
    }

    /** The whole command with its environment and output streams passed in (tests drive it this way). */
    public static int run(String[] argv, Map<String, String> env, boolean color, PrintStream out, PrintStream err) {
        CliArgs args;
        InspectOption inspect;
        try {
            inspect = InspectOption.extract(argv);
            args = CliArgs.parse(inspect.rest());
        } catch (IllegalArgumentException e) {
            err.println("captun: " + e.getMessage());
            return 2;
        }
        Path configPath = ConfigFile.defaultPath(env);
        try {
            switch (args.command()) {
                case "help" -> {
                    out.println(CliArgs.USAGE);
                    return 0;
                }
                case "version" -> {
                    out.println(BuildInfo.load().line());
                    return 0;
                }
                case "config-set" -> {
                    ConfigFile.set(configPath, args.configKey(), args.configValue());
                    out.println("captun: set " + args.configKey() + " in " + configPath);
                    return 0;
                }
                case "config-show" -> {
                    ConfigFile.Config c = ConfigFile.load(configPath);
                    out.println("config file: " + configPath);
                    out.println("gateway: " + (c.gateway() == null ? "(default " + CaptunTunnel.DEFAULT_GATEWAY + ")" : c.gateway()));
                    out.println("token:   " + (c.token() == null ? "(random per run)" : "(set)"));
                    return 0;
                }
                default -> {
                    return tunnel(args, inspect, Settings.resolve(args, env, ConfigFile.load(configPath)), new Console(color), out, err);
                }
            }
        } catch (IOException e) {
            err.println("captun: " + e.getMessage());
            return 1;
        }
    }

    private static int tunnel(CliArgs args, InspectOption inspect, Settings settings, Console console, PrintStream out, PrintStream err) {
        TargetSpec target;
        try {
            target = TargetSpec.parse(args.target());
        } catch (IllegalArgumentException e) {
            err.println("captun: " + e.getMessage());
            return 2;
        }
        String gateway = settings.gateway();
        if (!acceptsTcp(target.host(), target.port())) {
            err.println("captun: nothing is accepting connections on " + target.host() + ":" + target.port()
                    + ". Start your local server first (or check the port), then run captun again.");
            return 1;
        }

        CountDownLatch finished = new CountDownLatch(1);
        AtomicInteger exit = new AtomicInteger(0);
        AtomicBoolean started = new AtomicBoolean();        // the status block is out: later Connected events are reconnects
        AtomicReference<String> dialing = new AtomicReference<>(); // the gateway of the latest Connecting event
        AtomicReference<String> servedAt = new AtomicReference<>(); // the public URL users were last told
        CaptunTunnel.Builder b = CaptunTunnel.builder()
                .gateway(gateway)
                .target(target.url())
                .listener(event -> {
                    if (event instanceof TunnelEvent.Request r) {
                        if (!args.quiet()) {
                            out.println(console.request(LocalTime.now(), r.method(), r.path(), r.status(), r.millis()));
                        }
                    } else if (event instanceof TunnelEvent.Connecting c) {
                        dialing.set(c.gateway());
                    } else if (event instanceof TunnelEvent.Connected c) {
                        if (started.get()) {
                            String before = servedAt.getAndSet(c.url());
                            out.println(console.event(LocalTime.now(), "reconnected via " + dialing.get()
                                    + (c.url().equals(before) ? " at " + c.url() : "; new public URL: " + c.url())));
                        }
                    } else if (event instanceof TunnelEvent.Disconnected d) {
                        out.println(console.event(LocalTime.now(), "disconnected from " + dialing.get() + " (" + d.reason() + ")"));
                    } else if (event instanceof TunnelEvent.Draining d) {
                        out.println(console.event(LocalTime.now(), "gateway " + dialing.get() + " is draining (" + d.reason()
                                + "); moving to another gateway"));
                    } else if (event instanceof TunnelEvent.Reconnecting r) {
                        out.println(console.event(LocalTime.now(), "reconnecting in " + r.delay().toMillis() / 1000.0 + " s"));
                    } else if (event instanceof TunnelEvent.Replaced) {
                        err.println(console.event(LocalTime.now(),
                                "replaced: another client connected with this tunnel name and took it over; stopping."));
                        exit.set(3);
                        finished.countDown();
                    } else if (event instanceof TunnelEvent.Failed f) {
                        err.println(console.event(LocalTime.now(), "stopped: " + CliMessages.connectError(f.error(), args.name(), gateway)));
                        exit.set(1);
                        finished.countDown();
                    }
                });
        if (args.name() != null) {
            b.name(args.name());
        }
        if (settings.token() != null) {
            b.token(settings.token());
        }
        if (inspect.enabled()) {
            Inspector.Builder ib = Inspector.builder();
            try {
                if (inspect.address() != null) {
                    ib.address(inspect.address());
                }
                Inspector inspector = ib.start();
                if (!Inspector.isLoopback(inspector.address().getHostString())) {
                    err.println("captun: warning: the inspector at " + inspector.url()
                            + " shows every captured request to anyone who can reach that address");
                }
                b.inspector(inspector); // closed by the tunnel
            } catch (IllegalArgumentException e) {
                err.println("captun: " + e.getMessage());
                return 2;
            } catch (IOException e) {
                err.println("captun: " + e.getMessage() + " (choose another with --inspect HOST:PORT, or --no-inspect)");
                return 1;
            }
        }
        CaptunTunnel tunnel;
        try {
            tunnel = b.connect();
        } catch (CaptunConnectException e) {
            err.println("captun: " + CliMessages.connectError(e, args.name(), gateway));
            return 1;
        } catch (IllegalArgumentException e) {
            err.println("captun: " + e.getMessage());
            return 2;
        }
        Thread hook = new Thread(() -> {
            tunnel.close();
            finished.countDown();
        }, "captun-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        servedAt.set(tunnel.url());
        out.print(statusBlock(console, tunnel.url(), target.url(), dialing.get(), settings, args.quiet(),
                tunnel.inspector() == null ? null : tunnel.inspector().url().toString(), tunnel.policy()));
        out.flush();
        started.set(true);
        try {
            finished.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        tunnel.close();
        return exit.get();
    }

    /** What a user needs first: where the service is public, what it forwards to, and through which gateway. */
    static String statusBlock(Console console, String url, String target, String gateway, Settings settings, boolean quiet) {
        return statusBlock(console, url, target, gateway, settings, quiet, null, null);
    }

    /**
     * @param inspector the request inspector's URL, or null when it is off
     * @param policy the gateway's admission policy from {@code ready}, or null when it did not say
     */
    static String statusBlock(Console console, String url, String target, String gateway, Settings settings, boolean quiet,
                              String inspector, String policy) {
        return console.bold("captun") + " " + BuildInfo.load().version() + "\n"
                + "Forwarding    " + url + " -> " + target + "\n"
                + "Health        " + url + "/__captun/health\n"
                + (inspector == null ? "" : "Inspector     " + inspector + "\n")
                + "Gateway       " + gateway + (settings.gatewaySource().equals("--gateway") ? "" : " (" + settings.gatewaySource() + ")") + "\n"
                + (policy == null ? "" : "Policy        " + policy + (policy.equals("public") ? " (names owned by tokens, rate limits)" : "") + "\n")
                + "Token         " + settings.tokenSource() + "\n"
                + (quiet ? "" : "\nRequests (time, method, path, status, duration; --quiet hides them):\n");
    }

    static boolean acceptsTcp(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
