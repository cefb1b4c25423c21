package dev.captun.tunnel.admission;

import static org.junit.jupiter.api.Assertions.*;

import dev.captun.tunnel.admission.AdmissionPolicy.Claim;
import dev.captun.tunnel.admission.AdmissionPolicy.Credential;
import dev.captun.tunnel.admission.AdmissionPolicy.Mode;
import org.junit.jupiter.api.Test;

class AdmissionPolicyTest {

    private final AdmissionPolicy publicAnon = new AdmissionPolicy(Mode.PUBLIC, null);
    private final AdmissionPolicy trustedOpen = new AdmissionPolicy(Mode.TRUSTED, "");

    @Test
    void publicAnonymousRequiresAWellFormedToken() {
        assertEquals(AdmissionPolicy.MISSING_TOKEN, publicAnon.authenticate(null).rejection());
        assertEquals(AdmissionPolicy.MISSING_TOKEN, publicAnon.authenticate("").rejection());
        assertEquals(new AdmissionPolicy.Rejection(400, "Missing tunnel token"), AdmissionPolicy.MISSING_TOKEN);
        assertEquals(AdmissionPolicy.INVALID_TOKEN, publicAnon.authenticate("has space").rejection());
        assertEquals(AdmissionPolicy.INVALID_TOKEN, publicAnon.authenticate("tab\t").rejection());
        assertEquals(AdmissionPolicy.INVALID_TOKEN, publicAnon.authenticate("é").rejection());
        assertEquals(AdmissionPolicy.INVALID_TOKEN, publicAnon.authenticate("x".repeat(129)).rejection());
        assertEquals(new AdmissionPolicy.Rejection(400, "Invalid tunnel token"), AdmissionPolicy.INVALID_TOKEN);
        var ok = publicAnon.authenticate("x".repeat(128));
        assertTrue(ok.accepted());
        assertTrue(ok.credential().exclusive());
        assertEquals(TokenDigest.of("x".repeat(128)), ok.credential().ownerDigest());
        assertTrue(publicAnon.authenticate("!~").accepted());
    }

    @Test
    void tokensAreKeptOnlyAsDigests() {
        Credential c = publicAnon.authenticate("my-secret").credential();
        assertFalse(c.ownerDigest().contains("my-secret"));
        assertEquals(64, c.ownerDigest().length());
    }

    @Test
    void configuredTokenGivesTrustedStyleAuthInBothPolicies() {
        for (Mode mode : Mode.values()) {
            var p = new AdmissionPolicy(mode, "s3cret");
            assertEquals(AdmissionPolicy.UNAUTHORIZED, p.authenticate(null).rejection());
            assertEquals(AdmissionPolicy.UNAUTHORIZED, p.authenticate("wrong").rejection());
            assertEquals(AdmissionPolicy.UNAUTHORIZED, p.authenticate("s3cre").rejection());
            var ok = p.authenticate("s3cret");
            assertTrue(ok.accepted());
            assertFalse(ok.credential().exclusive(), "with a configured token the last connection wins");
        }
        assertEquals(new AdmissionPolicy.Rejection(401, "Unauthorized"), AdmissionPolicy.UNAUTHORIZED);
    }

    @Test
    void trustedWithoutTokenAcceptsAnything() {
        assertTrue(trustedOpen.authenticate(null).accepted());
        assertTrue(trustedOpen.authenticate("anything at all é").accepted());
        assertFalse(trustedOpen.authenticate("a").credential().exclusive());
    }

    @Test
    void claimRows() {
        Credential a = publicAnon.authenticate("token-a").credential();
        Credential b = publicAnon.authenticate("token-b").credential();
        Credential trusted = trustedOpen.authenticate(null).credential();
        assertEquals(Claim.ADMIT, AdmissionPolicy.claim(false, null, a));
        assertEquals(Claim.ADMIT, AdmissionPolicy.claim(false, a.ownerDigest(), b), "the name is free once the session ends");
        assertEquals(Claim.REPLACE, AdmissionPolicy.claim(true, a.ownerDigest(), a), "same token replaces its own session");
        assertEquals(Claim.CONFLICT, AdmissionPolicy.claim(true, a.ownerDigest(), b), "different token while active is a conflict");
        assertEquals(Claim.REPLACE, AdmissionPolicy.claim(true, a.ownerDigest(), trusted), "trusted: last connection wins");
        assertEquals(Claim.REPLACE, AdmissionPolicy.claim(true, null, trusted));
        assertEquals(new AdmissionPolicy.Rejection(409, "Tunnel name is already connected"), AdmissionPolicy.CONFLICT);
    }

    @Test
    void policyIsParsedExplicitly() {
        assertEquals(Mode.PUBLIC, Mode.parse(" Public "));
        assertEquals(Mode.TRUSTED, Mode.parse("trusted"));
        var e = assertThrows(IllegalArgumentException.class, () -> Mode.parse("hosted"));
        assertTrue(e.getMessage().contains("'public' or 'trusted'"));
    }

    @Test
    void namesAreLowerCaseDnsLabels() {
        for (String ok : new String[] {"a", "demo", "my-app-2", "0", "a".repeat(63)}) {
            assertTrue(TunnelNames.isValid(ok), ok);
        }
        for (String bad : new String[] {null, "", "-a", "a-", "Demo", "a_b", "a.b", "a".repeat(64), "dé", "a b"}) {
            assertFalse(TunnelNames.isValid(bad), String.valueOf(bad));
        }
    }
}
