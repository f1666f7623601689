-- CreateIndex
CREATE INDEX "executions_created_at_idx" ON "executions"("created_at");

