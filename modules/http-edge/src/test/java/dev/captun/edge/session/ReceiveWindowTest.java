package dev.captun.edge.session;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class ReceiveWindowTest {

    @Test
    void aSenderWithinItsCreditIsAcceptedAndOneByteMoreIsNot() {
        ReceiveWindow w = new ReceiveWindow(1000);
        assertTrue(w.receive(600));
        assertTrue(w.receive(400));
        assertFalse(w.receive(1));
    }

    @Test
    void grantsAreBatchedByAQuarterWindow() {
        ReceiveWindow w = new ReceiveWindow(1000);
        assertTrue(w.receive(1000));
        assertEquals(0, w.consume(100));
        assertEquals(0, w.consume(100));
        assertEquals(250, w.consume(50)); // a quarter window consumed: grant it all
        assertEquals(750, w.outstanding());
    }

    @Test
    void everythingReceivedConsumedIsGrantedAtOnceSoTheSenderNeverStalls() {
        ReceiveWindow w = new ReceiveWindow(1000);
        assertTrue(w.receive(10));
        assertEquals(10, w.consume(10));
        assertEquals(0, w.outstanding());
        // credit returned: the sender may fill the whole window again
        assertTrue(w.receive(1000));
    }
}
