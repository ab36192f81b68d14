"""54-FZ receipts: requested on payment and refund, settled by callback or polling."""
