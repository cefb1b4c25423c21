package dev.captun.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pure helpers of bench/run's Java mains (parsing and comparing); nothing here runs a benchmark. */
class BenchRunHelpersTest {

    @Test
    void heapUsedIsReadFromG1HeapInfo() {
        String out = """
                12345:
                 garbage-first heap   total 262144K, used 53687K [0x00000000c0000000, 0x0000000100000000)
                  region size 1024K, 12 young (12288K), 2 survivors (2048K)
                 Metaspace       used 61234K, committed 61952K, reserved 1105920K
                """;
        assertEquals(53687, IdleTunnels.parseHeapUsedKib(out));
        assertThrows(IllegalStateException.class, () -> IdleTunnels.parseHeapUsedKib("12345:\nno such command"));
    }

    @Test
    void attackSourcesAreOneAddressOrARangeOfTheLastByte() {
        assertEquals(java.util.List.of("127.0.0.2"), Attack.sourceRange("127.0.0.2"));
        assertEquals(java.util.List.of("127.0.0.10", "127.0.0.11", "127.0.0.12"), Attack.sourceRange("127.0.0.10-127.0.0.12"));
        assertEquals(40, Attack.sourceRange("127.0.0.10-127.0.0.49").size());
    }

    @Test
    void statTicksAreUtimePlusStimeEvenWithSpacesInTheCommand() {
        String stat = "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 123 0 0 0 700 55 0 0 20 0 40 0 1000 0 0";
        assertEquals(755, IdleTunnels.parseStatTicks(stat));
    }

    @Test
    void uploadComparisonAnswersTheCountOnlyForAnExactBody(@TempDir Path dir) throws Exception {
        byte[] want = new byte[200_000];
        for (int i = 0; i < want.length; i++) {
            want[i] = (byte) (i * 31 + 7);
        }
        Path f = dir.resolve("big-1M.bin");
        Files.write(f, want);
        assertEquals("200000", SdkHandlerTunnel.compare(new ByteArrayInputStream(want), f));

        byte[] bad = want.clone();
        bad[150_001] ^= 1;
        assertEquals("mismatch at 150001", SdkHandlerTunnel.compare(new ByteArrayInputStream(bad), f));
        assertEquals("mismatch at 1000", SdkHandlerTunnel.compare(new ByteArrayInputStream(Arrays.copyOf(want, 1000)), f));
        assertEquals("mismatch at 200000",
                SdkHandlerTunnel.compare(new ByteArrayInputStream(Arrays.copyOf(want, 200_010)), f));
    }

    @Test
    void onlyBigFilesOfTheDataDirectoryAreServed(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("big-1M.bin"), new byte[1]);
        assertNotNull(SdkHandlerTunnel.dataFile(dir, "big-1M.bin"));
        assertNull(SdkHandlerTunnel.dataFile(dir, "big-2M.bin"));
        assertNull(SdkHandlerTunnel.dataFile(dir, "../big-1M.bin"));
        assertNull(SdkHandlerTunnel.dataFile(dir, "hello.txt"));
    }

    @Test
    void bareLoopAnswerCarriesTheRequestIdAndThirteenBytes() {
        long id = 0x0102030405060708L;
        var frame = BareWsLoop.requestFrame(id, org.apache.pekko.http.javadsl.model.HttpRequest.create("/bench/hello.txt"));
        assertEquals("GET /bench/hello.txt", frame.drop(BareWsLoop.ID_BYTES).utf8String());
        java.nio.ByteBuffer answer = BareWsLoop.answerFrame(frame.asByteBuffer());
        assertEquals(id, answer.getLong(0));
        assertEquals(BareWsLoop.ID_BYTES + 13, answer.remaining());
    }
}
