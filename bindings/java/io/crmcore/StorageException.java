package io.crmcore;

/** The storage failed, or holds something this library refuses (CRM_ESTORAGE). */
public class StorageException extends CrmException {
    private static final long serialVersionUID = 1L;

    public StorageException(String message) {
        super(STORAGE, message);
    }
}
