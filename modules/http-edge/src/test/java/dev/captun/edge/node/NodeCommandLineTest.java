package dev.captun.edge.node;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.net.BindException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** bin/captun-node's arguments, and the one line a node that cannot start ends with. */
class NodeCommandLineTest {

    @Test
    void helpAndVersionAnswerAnythingElseIsRefused() {
        assertEquals(NodeCommandLine.Action.RUN, NodeCommandLine.parse(new String[0]).action());
        assertEquals(NodeCommandLine.Action.HELP, NodeCommandLine.parse(new String[] {"--help"}).action());
        assertEquals(NodeCommandLine.Action.HELP, NodeCommandLine.parse(new String[] {"-h"}).action());
        assertEquals(NodeCommandLine.Action.VERSION, NodeCommandLine.parse(new String[] {"--version"}).action());
        NodeCommandLine.Parsed typo = NodeCommandLine.parse(new String[] {"--prot", "9000"});
        assertEquals(NodeCommandLine.Action.REFUSE, typo.action());
        assertEquals("unexpected arguments --prot 9000", typo.error());
        assertEquals("unknown argument 8080", NodeCommandLine.parse(new String[] {"8080"}).error());
        assertTrue(NodeCommandLine.usage().contains("CAPTUN_PORT"));
        assertTrue(NodeCommandLine.version().startsWith("captun-node "), NodeCommandLine.version());
    }

    @Test
    void aBusyPortNamesTheSettingThatMovesIt() {
        Map<Integer, String> ports = GatewayNode.portSettings(ConfigFactory.parseString(
                "captun.port = 8080\ncaptun.management.port = 7626\npekko.remote.artery.canonical.port = 25520"));
        // As Pekko reports it: the BindException wrapped twice.
        Exception busy = new IllegalStateException("gateway node failed to start",
                new RuntimeException("Bind failed", new BindException("[/127.0.0.1:8080] Address already in use")));
        assertEquals("cannot listen on 127.0.0.1:8080: address already in use; set CAPTUN_PORT to a free port (0 = any)",
                StartFailure.describe(busy, ports));
        Exception remoting = new RuntimeException("Failed to bind TCP to [127.0.0.1:25520] due to: Bind failed because of "
                + "java.net.BindException: [/127.0.0.1:25520] Address already in use");
        assertEquals("cannot listen on 127.0.0.1:25520: address already in use; set CAPTUN_REMOTE_PORT to a free port (0 = any)",
                StartFailure.describe(remoting, ports));
        assertEquals("cannot listen on 127.0.0.1:7626: address already in use; set CAPTUN_MANAGEMENT_PORT to a free port (0 = any)",
                StartFailure.describe(new BindException("[/127.0.0.1:7626] Address already in use"), ports));
    }

    @Test
    void aBadSettingIsNamedAndAnythingElseGivesItsInnermostMessage() {
        ConfigException wrong = assertThrows(ConfigException.class,
                () -> ConfigFactory.parseString("captun.port = abc").getInt("captun.port"));
        assertTrue(StartFailure.describe(new RuntimeException(wrong), Map.of()).startsWith("bad setting: "));
        assertTrue(StartFailure.describe(new RuntimeException(wrong), Map.of()).contains("captun.port"));
        assertTrue(GatewayNode.portSettings(ConfigFactory.parseString("captun.port = abc")).isEmpty());
        assertEquals("could not start: disk full",
                StartFailure.describe(new IllegalStateException("outer", new RuntimeException("disk full")), Map.of()));
    }
}
