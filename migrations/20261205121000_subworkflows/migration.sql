-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "depth" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "parent_execution_id" TEXT,
ADD COLUMN     "parent_node_id" TEXT,
ADD COLUMN     "parked_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE UNIQUE INDEX "executions_parent_execution_id_parent_node_id_key" ON "executions"("parent_execution_id", "parent_node_id");

-- AddForeignKey
ALTER TABLE "executions" ADD CONSTRAINT "executions_parent_execution_id_fkey" FOREIGN KEY ("parent_execution_id") REFERENCES "executions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

