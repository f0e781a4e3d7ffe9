package io.crmcore;

/** The storage is locked by someone else; retry later (CRM_EBUSY). */
public class BusyException extends CrmException {
    private static final long serialVersionUID = 1L;

    public BusyException(String message) {
        super(BUSY, message);
    }
}
