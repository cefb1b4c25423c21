package dev.captun.client.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class InspectOptionTest {

    @Test
    void theInspectorIsOnByDefaultAndItsFlagsAreTakenOutOfTheRest() {
        InspectOption none = InspectOption.extract(new String[] {"3000", "--name", "demo"});
        assertTrue(none.enabled());
        assertNull(none.address());
        assertArrayEquals(new String[] {"3000", "--name", "demo"}, none.rest());

        InspectOption at = InspectOption.extract(new String[] {"--inspect", "127.0.0.1:4999", "3000"});
        assertTrue(at.enabled());
        assertEquals("127.0.0.1:4999", at.address());
        assertArrayEquals(new String[] {"3000"}, at.rest());
        assertEquals("0.0.0.0:80", InspectOption.extract(new String[] {"3000", "--inspect=0.0.0.0:80"}).address());

        InspectOption off = InspectOption.extract(new String[] {"3000", "--no-inspect", "--request-logs"});
        assertFalse(off.enabled());
        assertArrayEquals(new String[] {"3000", "--request-logs"}, off.rest());
        assertEquals("run", CliArgs.parse(off.rest()).command(), "the rest parses as before");
    }

    @Test
    void refusesAMissingAddressAndContradictions() {
        assertThrows(IllegalArgumentException.class, () -> InspectOption.extract(new String[] {"3000", "--inspect"}));
        assertThrows(IllegalArgumentException.class,
                () -> InspectOption.extract(new String[] {"3000", "--inspect", "4040", "--no-inspect"}));
    }

    @Test
    void usageNamesBothFlags() {
        assertTrue(CliArgs.USAGE.contains("--inspect ADDR"));
        assertTrue(CliArgs.USAGE.contains("--no-inspect"));
    }
}
