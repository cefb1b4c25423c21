package dev.captun.tunnel.admission;

import java.util.Locale;

/**
 * Who may hold a tunnel name (SPEC §4). Two steps, both pure:
 * {@link #authenticate} turns the presented token into a {@link Credential} or a rejection without
 * looking at any state; {@link #claim} decides, given the name's current owner, whether the
 * credential takes the name. The tunnel entity applies {@code claim} atomically.
 */
public final class AdmissionPolicy {

    public enum Mode {
        /** Self-hosted: last connection wins, no rate limits. */
        TRUSTED,
        /** Hosted: anonymous owner tokens, 409 on a different owner, rate limits. */
        PUBLIC;

        public static Mode parse(String value) {
            String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "trusted" -> TRUSTED;
                case "public" -> PUBLIC;
                default -> throw new IllegalArgumentException(
                        "captun.policy must be 'public' or 'trusted', got '" + value + "'");
            };
        }
    }

    public static final int MAX_TOKEN_LENGTH = 128;

    /**
     * The outcome of authentication: {@code ownerDigest} identifies the owner (null when a trusted
     * gateway accepts a connect with no token); {@code exclusive} means a different owner may not
     * replace this one's live session.
     */
    public record Credential(String ownerDigest, boolean exclusive) {}

    public record Rejection(int status, String message) {}

    /** Either a credential or a rejection. */
    public record Authentication(Credential credential, Rejection rejection) {
        public boolean accepted() {
            return credential != null;
        }
    }

    public enum Claim { ADMIT, REPLACE, CONFLICT }

    public static final Rejection UNAUTHORIZED = new Rejection(401, "Unauthorized");
    public static final Rejection MISSING_TOKEN = new Rejection(400, "Missing tunnel token");
    public static final Rejection INVALID_TOKEN = new Rejection(400, "Invalid tunnel token");
    public static final Rejection CONFLICT = new Rejection(409, "Tunnel name is already connected");

    private final Mode mode;
    private final String sharedToken;

    /** @param sharedToken {@code CAPTUN_TOKEN}, or null/empty when not configured */
    public AdmissionPolicy(Mode mode, String sharedToken) {
        this.mode = mode;
        this.sharedToken = sharedToken == null || sharedToken.isEmpty() ? null : sharedToken;
    }

    public Mode mode() {
        return mode;
    }

    public boolean hasSharedToken() {
        return sharedToken != null;
    }

    public Authentication authenticate(String presentedToken) {
        if (sharedToken != null) {
            // Configured token: trusted-style auth in both policies; anonymous tokens are ignored.
            if (!TokenDigest.sameBytes(sharedToken, presentedToken)) {
                return new Authentication(null, UNAUTHORIZED);
            }
            return new Authentication(new Credential(null, false), null);
        }
        if (mode == Mode.TRUSTED) {
            return new Authentication(new Credential(presentedToken == null ? null : TokenDigest.of(presentedToken), false), null);
        }
        if (presentedToken == null || presentedToken.isEmpty()) {
            return new Authentication(null, MISSING_TOKEN);
        }
        if (!isWellFormedToken(presentedToken)) {
            return new Authentication(null, INVALID_TOKEN);
        }
        return new Authentication(new Credential(TokenDigest.of(presentedToken), true), null);
    }

    /** 1–128 printable ASCII characters, {@code \x21-\x7e}. */
    public static boolean isWellFormedToken(String token) {
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
            return false;
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /**
     * @param currentOwnerDigest owner of the name's live session, or null when no session is live
     * @param hasLiveSession whether a session currently holds the name
     */
    public static Claim claim(boolean hasLiveSession, String currentOwnerDigest, Credential incoming) {
        if (!hasLiveSession) {
            return Claim.ADMIT;
        }
        if (!incoming.exclusive()) {
            return Claim.REPLACE;
        }
        return TokenDigest.sameBytes(currentOwnerDigest, incoming.ownerDigest()) ? Claim.REPLACE : Claim.CONFLICT;
    }
}
