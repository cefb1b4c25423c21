package dev.captun.client.cli;

import dev.captun.client.CaptunTunnel;
import java.util.Map;

/** Gateway and token for a run: flags win over CAPTUN_GATEWAY / CAPTUN_TOKEN, which win over the config file. Pure. */
record Settings(String gateway, String gatewaySource, String token, String tokenSource) {

    static Settings resolve(CliArgs args, Map<String, String> env, ConfigFile.Config config) {
        String envGateway = blankToNull(env.get("CAPTUN_GATEWAY"));
        String envToken = blankToNull(env.get("CAPTUN_TOKEN"));
        String gateway;
        String gatewaySource;
        if (args.gateway() != null) {
            gateway = args.gateway();
            gatewaySource = "--gateway";
        } else if (envGateway != null) {
            gateway = envGateway;
            gatewaySource = "CAPTUN_GATEWAY";
        } else if (config.gateway() != null) {
            gateway = config.gateway();
            gatewaySource = "config file";
        } else {
            gateway = CaptunTunnel.DEFAULT_GATEWAY;
            gatewaySource = "default";
        }
        String token;
        String tokenSource;
        if (args.token() != null) {
            token = args.token();
            tokenSource = "--token";
        } else if (envToken != null) {
            token = envToken;
            tokenSource = "CAPTUN_TOKEN";
        } else if (config.token() != null) {
            token = config.token();
            tokenSource = "config file";
        } else {
            token = null;
            tokenSource = "random, this run only";
        }
        return new Settings(gateway, gatewaySource, token, tokenSource);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}
