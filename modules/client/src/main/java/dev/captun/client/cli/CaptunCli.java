package dev.captun.client.cli;

import dev.captun.client.CaptunConnectException;
import dev.captun.client.CaptunTunnel;
import dev.captun.client.TunnelEvent;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** The {@code captun} command. */
public final class CaptunCli {
    private CaptunCli() {}

    public static void main(String[] argv) {
        // before any logger exists: keep the CLI quiet unless asked (CAPTUN_LOG_LEVEL=debug)
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "captun-cli-logback.xml");
        }
        System.exit(run(argv, System.out, System.err));
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        CliArgs args;
        try {
            args = CliArgs.parse(argv);
        } catch (IllegalArgumentException e) {
            err.println("captun: " + e.getMessage());
            return 2;
        }
        try {
            switch (args.command()) {
                case "help" -> {
                    out.println(CliArgs.USAGE);
                    return 0;
                }
                case "config-set" -> {
                    ConfigFile.set(ConfigFile.defaultPath(), args.configKey(), args.configValue());
                    out.println("captun: set " + args.configKey() + " in " + ConfigFile.defaultPath());
                    return 0;
                }
                case "config-show" -> {
                    ConfigFile.Config c = ConfigFile.load(ConfigFile.defaultPath());
                    out.println("config file: " + ConfigFile.defaultPath());
                    out.println("gateway: " + (c.gateway() == null ? "(default " + CaptunTunnel.DEFAULT_GATEWAY + ")" : c.gateway()));
                    out.println("token:   " + (c.token() == null ? "(random per run)" : "(set)"));
                    return 0;
                }
                default -> {
                    return tunnel(args, out, err);
                }
            }
        } catch (IOException e) {
            err.println("captun: " + e.getMessage());
            return 1;
        }
    }

    private static int tunnel(CliArgs args, PrintStream out, PrintStream err) throws IOException {
        TargetSpec target;
        try {
            target = TargetSpec.parse(args.target());
        } catch (IllegalArgumentException e) {
            err.println("captun: " + e.getMessage());
            return 2;
        }
        ConfigFile.Config config = ConfigFile.load(ConfigFile.defaultPath());
        String gateway = args.gateway() != null ? args.gateway() : config.gateway() != null ? config.gateway() : CaptunTunnel.DEFAULT_GATEWAY;
        String token = args.token() != null ? args.token() : config.token();

        if (!acceptsTcp(target.host(), target.port())) {
            err.println("captun: nothing is accepting connections on " + target.host() + ":" + target.port()
                    + ". Start your local server first (or check the port), then run captun again.");
            return 1;
        }

        CountDownLatch finished = new CountDownLatch(1);
        AtomicInteger exit = new AtomicInteger(0);
        CaptunTunnel.Builder b = CaptunTunnel.builder()
                .gateway(gateway)
                .target(target.url())
                .listener(event -> {
                    if (event instanceof TunnelEvent.Request r) {
                        if (args.requestLogs()) {
                            out.println(r.status() + " " + r.method() + " " + r.path() + " " + r.millis() + "ms");
                        }
                    } else if (event instanceof TunnelEvent.Disconnected d) {
                        err.println("captun: disconnected (" + d.reason() + ")");
                    } else if (event instanceof TunnelEvent.Draining d) {
                        err.println("captun: gateway draining (" + d.reason() + "); moving to another gateway");
                    } else if (event instanceof TunnelEvent.Reconnecting r) {
                        err.println("captun: reconnecting in " + r.delay().toMillis() / 1000.0 + "s");
                    } else if (event instanceof TunnelEvent.Replaced) {
                        err.println("captun: another client connected with this tunnel name and replaced this one; stopping.");
                        exit.set(3);
                        finished.countDown();
                    } else if (event instanceof TunnelEvent.Failed f) {
                        err.println("captun: " + CliMessages.connectError(f.error(), args.name(), gateway));
                        exit.set(1);
                        finished.countDown();
                    }
                });
        if (args.name() != null) {
            b.name(args.name());
        }
        if (token != null) {
            b.token(token);
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
        out.println("Forwarding " + tunnel.url() + " -> " + target.url());
        out.flush();
        try {
            finished.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        tunnel.close();
        return exit.get();
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
